"""bot.nlu.fallback: Rasa's FallbackClassifier, plus the reason and threshold the action needs."""
from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.fallback import ExplainedFallbackClassifier
from bot.protocol import FALLBACK_KEY, Fallback, FallbackReason

CONFIG = {"threshold": 0.6, "ambiguity_threshold": 0.1}


def classify(*ranking):
    ranked = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    message = Message(data={"text": "x", "intent": ranked[0], "intent_ranking": ranked})
    classifier = ExplainedFallbackClassifier({**ExplainedFallbackClassifier.get_default_config(), **CONFIG})
    [message] = classifier.process([message])
    return message


@pytest.mark.parametrize("ranking,reason", [
    ((("ask_iom", 0.4), ("ask_history", 0.3)), FallbackReason.LOW_CONFIDENCE),
    ((("ask_iom", 0.65), ("ask_history", 0.6)), FallbackReason.AMBIGUOUS),
])
def test_a_fallback_carries_its_reason_and_threshold(ranking, reason):
    message = classify(*ranking)
    assert message.get("intent")["name"] == "nlu_fallback"
    assert Fallback.from_parse_data(message.as_dict(only_output_properties=True)) == Fallback(reason, 0.6)


def test_a_confident_prediction_is_left_alone():
    message = classify(("ask_iom", 0.9), ("ask_history", 0.05))
    assert message.get("intent")["name"] == "ask_iom" and message.get(FALLBACK_KEY) is None

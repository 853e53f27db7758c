"""How our intent classifiers combine their probabilities with the ranking an earlier one already set.

`blend_with_previous: w` (0..1): confidence = w * previous + (1 - w) * ours, for every intent of ours; the
message's intent and ranking become the blend's. FallbackClassifier then applies its thresholds to it.
"""
from __future__ import annotations

from typing import Dict, Mapping

from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message


def previous_ranking(message: Message) -> Dict[str, float]:
    return {r["name"]: r["confidence"] for r in message.get(INTENT_RANKING_KEY) or []}


def set_ranking(message: Message, ours: Mapping[str, float], blend_with_previous: float, ranking_length: int) -> None:
    previous = previous_ranking(message)
    confidences = dict(ours)
    if blend_with_previous and previous:
        confidences = {name: blend_with_previous * previous.get(name, 0.0) + (1 - blend_with_previous) * p
                       for name, p in ours.items()}
    ordered = sorted(confidences.items(), key=lambda item: -item[1])
    ranking = [{"name": name, "confidence": float(p)} for name, p in ordered]
    message.set(INTENT, ranking[0], add_to_output=True)
    message.set(INTENT_RANKING_KEY, ranking[:ranking_length], add_to_output=True)

"""Rasa's FallbackClassifier, telling the action why it fell back.

Stock FallbackClassifier replaces the intent with `nlu_fallback` and keeps the ranking, but not the reason.
The action answers a near tie with "did you mean" and a named subject with its answer; for that it needs the
reason and the threshold that applied. They travel in the parse data (`bot.protocol.Fallback`), so the
thresholds live only in config.yml and the action server never reads it.
"""
from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.fallback_classifier import THRESHOLD_KEY, FallbackClassifier
from rasa.shared.nlu.training_data.message import Message

from bot.protocol import FALLBACK_KEY, Fallback, FallbackReason


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ExplainedFallbackClassifier(FallbackClassifier):
    def process(self, messages: List[Message]) -> List[Message]:
        threshold = float(self.component_config[THRESHOLD_KEY])
        for message in messages:
            if self._nlu_confidence_below_threshold(message)[0]:
                reason = FallbackReason.LOW_CONFIDENCE
            elif self._nlu_prediction_ambiguous(message)[0]:
                reason = FallbackReason.AMBIGUOUS
            else:
                continue
            message.set(FALLBACK_KEY, Fallback(reason, threshold).to_dict(), add_to_output=True)
        return super().process(messages)

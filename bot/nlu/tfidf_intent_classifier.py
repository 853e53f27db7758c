"""TF-IDF + logistic-regression intent classifier as a Rasa NLU component, alone or blended with another.

Features and model: bot/nlu/sparse_text_model.py (word 1-2-grams and character 2-5-grams over the
lower-cased lemmas from the pipeline's tokenizer). `blend_with_previous: w` averages our probabilities with
the ranking an earlier classifier already set (bot/nlu/ranking.py). Measured on tests/nlu_holdout.yml when it
was blended with DIET (98 questions, never trained on): DIET alone raw accuracy 0.847, this classifier alone
0.888, the average 0.878 with DIET's fallback behaviour kept.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text, Type

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.office_name import collapse
from bot.nlu.ranking import set_ranking
from bot.nlu.stored_component import SparseTextComponent

log = logging.getLogger(__name__)


def lemmas(message: Message) -> str:
    tokens = message.get(TOKENS_NAMES[TEXT]) or []
    text = " ".join((t.lemma or t.text).lower() for t in tokens) or (message.get(TEXT) or "").lower()
    return collapse(text)  # the office's long name as one word (bot/nlu/office_name.py)


# Also a featurizer, for one reason: Rasa then trains the components after it in the pipeline only once it is
# trained (it passes the training data on unchanged), so its fitting (~20 s) overlaps the background encoding of
# the training examples, which the encoder classifier after it waits for. Prediction is the same either way.
@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER,
                           DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class TfidfIntentClassifier(IntentClassifier, SparseTextComponent):
    SAVED_AS = "tfidf"
    WITHOUT_MODEL = "intents come from earlier classifiers"

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"C": 10.0, "word_ngrams": [1, 2], "char_ngrams": [2, 5], "max_iter": 2000, "ranking_length": 10,
                "blend_with_previous": 0.0}

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if len({e.get(INTENT) for e in examples}) < 2:
            log.warning("TfidfIntentClassifier: fewer than 2 intents in the training data; not trained")
            return self._resource
        return self._fit_and_save([lemmas(e) for e in examples], [e.get(INTENT) for e in examples])

    def process(self, messages: List[Message]) -> List[Message]:
        if self.model is None:
            return messages
        classes = self.model.classes
        for message in messages:
            ours = dict(zip(classes, self.model.probabilities(lemmas(message)).tolist(), strict=True))
            set_ranking(message, ours, float(self.config["blend_with_previous"]), int(self.config["ranking_length"]))
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data  # unchanged: `process` would overwrite the examples' intents with its predictions

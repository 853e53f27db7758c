"""Intent classification from the meaning of the whole sentence: a sentence encoder (bot/nlu/encoder.py) and
a logistic regression over its vectors, blended with the ranking the earlier classifiers set.

Why: the bag-of-words features only know the words of data/nlu/; the encoder maps "how old is the office?"
close to "when was the office founded?", and French, Dutch or German questions close to their English
equivalents. The regression is fitted on the encoder's vectors of the training examples (C = 100: with the
default C = 1 the confidences are too flat to pass the fallback threshold).

`skip_above: p`: when the classifier before this one is already at least p sure, the message is not encoded
(a cascade): most English and French questions need no encoder, so they keep their speed; unfamiliar
wordings and other languages get it. The training examples' vectors are cached in `var/encoder-cache/`,
so retraining only encodes new examples; a cold training encodes them on every core
(bot/nlu/parallel_encoding.py), starting as soon as Rasa has read the training data
(`TrainingEncodingPrefetcher`, first in the pipeline), while Rasa trains the other components on one core.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.encoder import DEFAULT_ENCODER, ENCODERS, EncoderError, SentenceEncoder, load_encoder
from bot.nlu.parallel_encoding import MIN_TEXTS_PER_WORKER, EncodingPool, cores, encode_many, workers_for
from bot.nlu.ranking import previous_ranking, set_ranking
from bot.nlu.spelling import CORRECTED_TEXT_KEY
from bot.nlu.stored_component import StoredComponent
from bot.settings import ROOT

log = logging.getLogger(__name__)
MODEL_FILE, WEIGHTS_FILE = "embedding_classifier.json", "embedding_classifier.npz"
CACHE_DIR = ROOT / "var" / "encoder-cache"
# encodings `EmbeddingCache.start` began for a later `encode`, by cache file (one training at a time per process)
BACKGROUND: Dict[Path, EncodingPool] = {}


def training_texts(training_data: TrainingData) -> List[str]:
    """The texts the classifier is trained on, in order (one source for the classifier and the prefetcher)."""
    return [e.get(TEXT) for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]


class EmbeddingCache:
    """Vectors of training texts, kept between trainings (keyed by encoder and text)."""

    def __init__(self, encoder_name: str, directory: Path = CACHE_DIR) -> None:
        self.encoder_name = encoder_name
        self.path = directory / (hashlib.sha256(encoder_name.encode()).hexdigest()[:16] + ".npz")

    def _saved(self) -> Dict[str, np.ndarray]:
        if not self.path.exists():
            return {}
        with np.load(self.path, allow_pickle=False) as saved:
            return dict(zip(saved["texts"].tolist(), saved["vectors"], strict=True))

    def start(self, texts: List[str]) -> int:
        """Starts encoding the texts not cached yet in the background, leaving one core to the caller; returns
        how many. An encoding already started for them (by bot/train.py) goes on."""
        saved = self._saved()
        missing = [t for t in dict.fromkeys(texts) if t not in saved]
        workers = min(workers_for(len(missing)), cores() - 1)
        if len(missing) < MIN_TEXTS_PER_WORKER or workers < 1 or self.encoder_name not in ENCODERS:
            return 0  # few new texts, one core, or an encoder the workers cannot load: `encode` does it all
        previous = BACKGROUND.pop(self.path, None)
        if previous is not None and not previous.failed and set(missing) <= set(previous.texts):
            BACKGROUND[self.path] = previous
            return 0
        if previous is not None:
            previous.close()
        log.info("encoding %d training examples in the background (%d cached)", len(missing),
                 len(set(texts)) - len(missing))
        BACKGROUND[self.path] = EncodingPool.start(self.encoder_name, missing, workers)
        return len(missing)

    def encode(self, texts: List[str], encoder: Callable[[], SentenceEncoder]) -> np.ndarray:
        """The vectors of `texts`: cached, encoded by the pool `start` began, or encoded now by `encoder()`."""
        known = self._saved()
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        pool = BACKGROUND.pop(self.path, None)
        if pool is not None and missing:
            extra = max(0, workers_for(len(missing)) - pool.workers)
            log.info("waiting for the background encoding (%d texts, %d more processes)", len(pool.texts), extra)
            known.update(zip(pool.texts, pool.result(add_workers=extra), strict=True))
            missing = [t for t in missing if t not in known]
        elif pool is not None:
            pool.close()
        if missing:
            log.info("encoding %d training examples (%d cached)", len(missing), len(set(texts)) - len(missing))
            known.update(zip(missing, encode_many(encoder(), missing), strict=True))
        if missing or pool is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self.path, texts=np.array(list(known)), vectors=np.stack(list(known.values())))
        return np.stack([known[t] for t in texts])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class TrainingEncodingPrefetcher(GraphComponent):
    """Training only: starts encoding the training examples for EmbeddingIntentClassifier in worker processes
    as soon as Rasa has read them (first in the pipeline), so the encoding overlaps the training of the other
    components. The classifier waits for the result. At prediction time it does nothing."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"encoder": DEFAULT_ENCODER}  # the classifier's

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.config = {**self.get_default_config(), **config}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "TrainingEncodingPrefetcher":
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        EmbeddingCache(self.config["encoder"]).start(training_texts(training_data))
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class EmbeddingIntentClassifier(IntentClassifier, StoredComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"encoder": DEFAULT_ENCODER, "C": 100.0, "max_iter": 5000, "blend_with_previous": 0.5,
                "skip_above": 1.01, "ranking_length": 10}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource) -> None:
        super().__init__(config, model_storage, resource)
        self.classes: List[str] = []
        self.coef: Optional[np.ndarray] = None
        self.intercept: Optional[np.ndarray] = None
        self._encoder: Optional[SentenceEncoder] = None

    @property
    def encoder(self) -> SentenceEncoder:
        if self._encoder is None:
            self._encoder = load_encoder(self.config["encoder"])
        return self._encoder

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if len({e.get(INTENT) for e in examples}) < 2:
            log.warning("EmbeddingIntentClassifier: fewer than 2 intents in the training data; not trained")
            return self._resource
        vectors = EmbeddingCache(self.config["encoder"]).encode(training_texts(training_data), lambda: self.encoder)
        model = LogisticRegression(C=float(self.config["C"]), max_iter=int(self.config["max_iter"]),
                                   class_weight="balanced", random_state=42)
        model.fit(vectors, [e.get(INTENT) for e in examples])
        self.classes, self.coef, self.intercept = [str(c) for c in model.classes_], model.coef_, model.intercept_
        with self._storage.write_to(self._resource) as directory:
            saved = {"encoder": self.config["encoder"], "classes": self.classes}
            (directory / MODEL_FILE).write_text(json.dumps(saved))
            np.savez(directory / WEIGHTS_FILE, coef=self.coef, intercept=self.intercept)
        return self._resource

    def probabilities(self, text: str) -> Dict[str, float]:
        assert self.coef is not None and self.intercept is not None
        scores = self.coef @ self.encoder.encode([text])[0] + self.intercept
        scores = np.exp(scores - scores.max())
        return dict(zip(self.classes, (scores / scores.sum()).tolist(), strict=True))

    def process(self, messages: List[Message]) -> List[Message]:
        if self.coef is None:
            return messages
        for message in messages:
            previous = previous_ranking(message)
            if previous and max(previous.values()) >= float(self.config["skip_above"]):
                continue  # the earlier classifier is sure enough: no need for the encoder
            text = message.get(CORRECTED_TEXT_KEY) or message.get(TEXT) or ""  # typos fixed (bot/nlu/spelling.py)
            set_ranking(message, self.probabilities(text), float(self.config["blend_with_previous"]),
                        int(self.config["ranking_length"]))
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "EmbeddingIntentClassifier":
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                saved = json.loads((directory / MODEL_FILE).read_text())
                with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as weights:
                    component.coef, component.intercept = weights["coef"], weights["intercept"]
        except (ValueError, FileNotFoundError) as exc:  # trained without intents: nothing was saved
            log.warning("EmbeddingIntentClassifier: no trained model (%s); intents come from earlier classifiers",
                        exc)
            return component
        if saved["encoder"] != component.config["encoder"]:
            raise EncoderError(f"the model was trained with the encoder {saved['encoder']!r}, the pipeline asks for "
                               f"{component.config['encoder']!r}: retrain (make train)")
        component.classes = saved["classes"]
        component._encoder = load_encoder(component.config["encoder"])  # now: a bad model file stops the start-up
        return component

"""What our trainable Rasa components share: their config over the defaults, the storage they write their
model to, and, for the two built on a TF-IDF text model (intents and languages), fitting, saving and loading it.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

from bot.nlu.sparse_text_model import SparseTextModel

log = logging.getLogger(__name__)


class StoredComponent(GraphComponent):
    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource) -> None:
        self.config = {**self.get_default_config(), **config}
        self._storage, self._resource = model_storage, resource

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "StoredComponent":
        return cls(config, model_storage, resource)


class SparseTextComponent(StoredComponent):
    """A component whose model is a SparseTextModel (bot/nlu/sparse_text_model.py) saved as plain data."""
    SAVED_AS = "model"
    WITHOUT_MODEL = ""  # what happens when no model was trained, for the log line

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource) -> None:
        super().__init__(config, model_storage, resource)
        self.model: Optional[SparseTextModel] = None

    def _new_model(self) -> SparseTextModel:
        return SparseTextModel(self.config["word_ngrams"], self.config["char_ngrams"], self.config["C"],
                               self.config["max_iter"])

    def _fit_and_save(self, texts: List[str], labels: List[str]) -> Resource:
        self.model = self._new_model().fit(texts, labels)
        with self._storage.write_to(self._resource) as directory:
            self.model.save(directory, self.SAVED_AS)
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "SparseTextComponent":
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                component.model = component._new_model().load(directory, cls.SAVED_AS)
        except (ValueError, FileNotFoundError) as exc:  # trained without enough labels: nothing was saved
            log.warning("%s: no trained model (%s); %s", cls.__name__, exc, cls.WITHOUT_MODEL)
        return component

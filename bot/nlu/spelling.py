"""Typo correction against the domain's own vocabulary, before the intent classifiers and the entity CRF.

"when exaclty was teh liason with the EU establsihed": each misspelt word is a word the training data
knows, one or two keystrokes away. `DomainSpellingCorrector` learns the vocabulary of the training examples
(every language) with each word's lemma and frequency; at run time a token that is not in it, is long
enough and is one edit away (two for long words) from a known word is replaced by that word, in the token
the classifiers and the CRF read, and in a corrected copy of the text (`CORRECTED_TEXT_KEY`) that the
sentence encoder reads. The visitor's own text (what the tracker stores and the report shows) is unchanged.

The lookup is symspellpy's (the SymSpell symmetric-delete algorithm: a vocabulary of a few thousand words
answers in microseconds). Short words are never corrected: "bank" is not a typo of "back". The vocabulary
is saved as JSON; nothing executable is stored. Staff abbreviations ("nb of MS?", "which RO?") and text-speak
("wat r ur goals", "bjr jvoudrais savoir") are read as the words they stand for (`ABBREVIATIONS`, `TEXTSPEAK`,
`TEXTSPEAK_FR`).
"""
from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.stored_component import StoredComponent

log = logging.getLogger(__name__)
SAVED_AS = "vocabulary.json"
CORRECTED_TEXT_KEY = "iom_corrected_text"  # not an output property: it stays out of the parse data
# IOM staff jargon (Slack), read as the words it stands for. Upper case only: "Ms" and "co" are other words.
ABBREVIATIONS = {"MS": ("member states", "member state"), "RO": ("regional office", "regional office"),
                 "CO": ("country office", "country office"), "GO": ("global office", "global office"),
                 "HQ": ("headquarters", "headquarters"), "DG": ("Director General", "director general")}
# Text-speak, in any case ("wat r ur goals"); too short for the typo lookup. None of these is a French word.
TEXTSPEAK = {"r": "are", "ur": "your", "u": "you", "wat": "what", "wen": "when", "wht": "what", "pls": "please",
             "plz": "please", "thx": "thanks", "abt": "about", "b4": "before", "ppl": "people", "coz": "because",
             "cuz": "because", "bcoz": "because", "govt": "government"}
# French text-speak ("bjr jvoudrais savoir cque fait loim a bxl"), read as the words only when the training
# examples do not use the short form itself (few are English words; "koi" and "dsl" are rare ones).
TEXTSPEAK_FR = {"bjr": "bonjour", "slt": "salut", "qqn": "quelqu'un", "qqch": "quelque chose", "koi": "quoi",
                "pk": "pourquoi", "pq": "pourquoi", "pkoi": "pourquoi", "qd": "quand", "bcp": "beaucoup",
                "mtn": "maintenant", "dsl": "désolé", "bxl": "Bruxelles", "jvoudrais": "je voudrais",
                "jvoudrai": "je voudrais", "cque": "ce que", "jsuis": "je suis", "chui": "je suis", "tjs": "toujours",
                "tjrs": "toujours", "loim": "l'OIM", "stp": "s'il te plaît", "svp": "s'il vous plaît"}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class DomainSpellingCorrector(StoredComponent):
    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # min_length: shorter words are never corrected; long_word: from this length two edits are allowed.
        return {"min_length": 5, "long_word": 8, "min_count": 1}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 vocabulary: Optional[Dict[str, Tuple[str, int]]] = None) -> None:
        super().__init__(config, model_storage, resource)
        self.vocabulary: Dict[str, Tuple[str, int]] = vocabulary or {}  # word -> (lemma, count)
        self._index: Any = None

    def train(self, training_data: TrainingData) -> Resource:
        counts: Dict[str, List[Any]] = {}
        for example in training_data.training_examples:
            for token in example.get(TOKENS_NAMES[TEXT]) or []:
                word = token.text.lower()
                if word.isalpha():
                    entry = counts.setdefault(word, [(token.lemma or token.text).lower(), 0])
                    entry[1] += 1
        self.vocabulary = {w: (lemma, n) for w, (lemma, n) in counts.items() if n >= int(self.config["min_count"])}
        with self._storage.write_to(self._resource) as directory:
            (directory / SAVED_AS).write_text(json.dumps(self.vocabulary, ensure_ascii=False), encoding="utf-8")
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "DomainSpellingCorrector":
        try:
            with model_storage.read_from(resource) as directory:
                saved = json.loads((directory / SAVED_AS).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError) as exc:
            log.warning("DomainSpellingCorrector: no vocabulary (%s); no corrections", exc)
            saved = {}
        return cls(config, model_storage, resource, {w: (v[0], int(v[1])) for w, v in saved.items()})

    @property
    def index(self) -> Any:
        if self._index is None:
            from symspellpy import SymSpell
            index = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
            for word, (_, count) in self.vocabulary.items():
                if len(word) >= int(self.config["min_length"]) - 1:
                    index.create_dictionary_entry(word, count)
            self._index = index
        return self._index

    def expansion(self, word: str) -> Optional[Tuple[str, str]]:
        """The words and lemmas a staff abbreviation stands for, or None."""
        if word in ABBREVIATIONS:
            return ABBREVIATIONS[word]
        spoken = TEXTSPEAK.get(word.lower()) or \
            (TEXTSPEAK_FR.get(word.lower()) if word.lower() not in self.vocabulary else None)
        return (spoken, self.vocabulary.get(spoken, (spoken, 0))[0]) if spoken else None  # "are" -> lemma "be"

    def correction(self, word: str) -> Optional[str]:
        """The known word `word` is a typo of, or None."""
        from symspellpy import Verbosity
        word = word.lower()
        if len(word) < int(self.config["min_length"]) or not word.isalpha() or word in self.vocabulary:
            return None
        distance = 2 if len(word) >= int(self.config["long_word"]) else 1
        found = self.index.lookup(word, Verbosity.TOP, max_edit_distance=distance, transfer_casing=False)
        return found[0].term if found and found[0].term != word else None

    def process(self, messages: List[Message]) -> List[Message]:
        if not self.vocabulary:
            return messages
        for message in messages:
            text = message.get(TEXT) or ""
            pieces, end = [], 0
            for token in message.get(TOKENS_NAMES[TEXT]) or []:
                expanded = self.expansion(text[token.start:token.end])  # the visitor's case: tokens are lower
                corrected = expanded[0] if expanded else self.correction(token.text)
                if corrected is None:
                    continue
                pieces += [text[end:token.start], corrected]
                end = token.end
                token.text, token.lemma = corrected, expanded[1] if expanded else self.vocabulary[corrected][0]
            if pieces:
                message.set(CORRECTED_TEXT_KEY, "".join(pieces) + text[end:])
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data  # the examples are the vocabulary: nothing to correct

"""Which language a message is written in, for the reply language (decided in bot/answers/language.py).

`LanguageClassifier` is trained with the NLU on our own examples, labelled by the language their intent
declares (`metadata: {language: fr}`; data/nlu/en/ has none and counts as English, data/nlu/fr/ is French,
data/nlu/other/ holds Dutch, German, Spanish, Italian, Portuguese and Polish): TF-IDF of words and character
1-4-grams + logistic regression (bot/nlu/sparse_text_model.py). It knows this domain's words in each
language, with or without accents. A general detector (py3langid) does not: on our examples it put "quand a
ete cree le bureau" in English at 0.97, "ça date de quand ?" in Portuguese, and 45 of 785 French examples
elsewhere; it is kept only for replies sent before NLU runs (`guess_language`: "too long", "try again").

What carries no language is removed first: acronyms (IOM, EURCAP), numbers, links, symbols. The result is
`reliable` (may change the conversation's language) when at least MIN_LETTERS letters remain and the
classifier is CONFIDENT. Measured by 5-fold cross-validation on the training examples (2,522 in 8
languages): 2,133 reliable, of which 7 wrong (0.3 %); 382 not reliable (short: "ok", "merci", "EURCAP?"),
which keep the conversation's language (bot/answers/language.py).
"""
from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.answers.content_store import DEFAULT_LANGUAGE, LANGUAGES
from bot.nlu.stored_component import SparseTextComponent
from bot.protocol import LANGUAGE_KEY, DetectedLanguage

log = logging.getLogger(__name__)
# The languages visitors write in that a general detector should choose among (EU languages of our visitors).
DETECTED = ["en", "fr", "nl", "de", "es", "it", "pt", "pl"]
MIN_LETTERS = 6  # fewer letters than this (after cleaning) never change the conversation's language
CONFIDENT = 0.7  # the classifier's probability for a language to count as reliable
LINKS = re.compile(r"https?://\S+|\S+@\S+")
NO_LANGUAGE = re.compile(LINKS.pattern + r"|\b[A-Z][A-Z0-9]+s?\b|[\d_]+|[^\w\s'’-]", re.U)
# Names and acronyms of this domain typed in lower case: they belong to no language ("eurcap", "oim").
DOMAIN_TERMS = re.compile(r"\b(eurcap|avrr|iom|oim|mecc|ibm|eu|ue|un|onu|ngos?|ong|brussels?|bruxelles|brussel|"
                          r"go)\b", re.I)
MIN_WORDS = 2  # a single word never changes the conversation's language
# Of those names, the forms only one of our languages uses: "agenda 2030 oim" or "OIM Bruxelles ?" is typed by
# a French speaker even when nothing else in it has a language. They start a conversation in that language
# (TERM_CONFIDENCE is above FIRST_MESSAGE_CONFIDENCE) but never switch one (not reliable).
LANGUAGE_OF_TERMS = [(re.compile(r"\b(oim|onu|ong|ue|bruxelles)\b", re.I), "fr"),
                     (re.compile(r"\b(iom|ngos?|eu|brussels)\b", re.I), "en")]
TERM_CONFIDENCE = 0.6


def clean(text: str) -> str:
    """The text without what carries no language: links, e-mail addresses, acronyms, numbers, symbols, and
    this domain's names."""
    return " ".join(DOMAIN_TERMS.sub(" ", NO_LANGUAGE.sub(" ", text)).split())


def letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


@lru_cache(maxsize=1)
def _general_detector():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier
    identifier = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
    identifier.set_languages(DETECTED)
    return identifier


def general_guess(text: str) -> Tuple[str, float]:
    """py3langid's language for `text` (already cleaned) among DETECTED, with its probability."""
    language, probability = _general_detector().classify(text.lower())
    return str(language), float(probability)


def guess_language(text: str, hint: Optional[str] = None) -> str:
    """For replies sent before NLU runs ("too long", "try again"): the client's hint when it is a language we
    answer in, else the general detector on a long enough text, else the default language."""
    code = (hint or "").split("-")[0].lower()
    if code in LANGUAGES:
        return code
    cleaned = clean(text[:1000])
    if letters(cleaned) >= MIN_LETTERS:
        language, probability = general_guess(cleaned)
        if language in LANGUAGES and probability >= CONFIDENT:
            return language
    return DEFAULT_LANGUAGE


def example_language(message: Message) -> str:
    """The language a training example is written in: its (or its intent's) `metadata: {language: ..}`."""
    metadata = message.get("metadata") or {}
    for level in ("example", "intent"):
        value = (metadata.get(level) or {}).get("language") if isinstance(metadata.get(level), dict) else None
        if value in DETECTED:
            return str(value)
    return DEFAULT_LANGUAGE


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class LanguageClassifier(SparseTextComponent):
    SAVED_AS = "language"
    WITHOUT_MODEL = f"every message counts as {DEFAULT_LANGUAGE}"

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"C": 10.0, "word_ngrams": [1, 1], "char_ngrams": [1, 4], "max_iter": 2000}

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(TEXT)]
        labels = [example_language(e) for e in examples]
        if len(set(labels)) < 2:
            log.warning("LanguageClassifier: examples in fewer than 2 languages; %s", self.WITHOUT_MODEL)
            return self._resource
        return self._fit_and_save([clean(e.get(TEXT)).lower() for e in examples], labels)

    def detect(self, text: str) -> DetectedLanguage:
        detected = self._detect(text)
        words = LINKS.sub(" ", text)  # "https://eea.iom.int/fr" names nothing
        by_terms = {code for pattern, code in LANGUAGE_OF_TERMS if pattern.search(words)}
        # Only when the words around say little: "EU projets ?" is French, "¿Qué hace la OIM?" Spanish.
        if not detected.reliable and len(by_terms) == 1 and self.model is not None \
                and (detected.confidence < TERM_CONFIDENCE or detected.language in by_terms):
            language = by_terms.pop()
            confidence = detected.confidence if detected.language == language else 0.0
            return DetectedLanguage(language, max(confidence, TERM_CONFIDENCE), False)
        return detected

    def _detect(self, text: str) -> DetectedLanguage:
        cleaned = clean(text)
        count = letters(cleaned)
        if count == 0 or self.model is None:
            return DetectedLanguage(DEFAULT_LANGUAGE, 0.0, False)
        probabilities = dict(zip(self.model.classes, self.model.probabilities(cleaned.lower()).tolist(),
                                 strict=True))
        language = max(probabilities, key=probabilities.__getitem__)
        confidence = probabilities[language]
        reliable = count >= MIN_LETTERS and len(cleaned.split()) >= MIN_WORDS and confidence >= CONFIDENT
        return DetectedLanguage(language, round(confidence, 3), reliable)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            message.set(LANGUAGE_KEY, self.detect(message.get(TEXT) or "").to_dict(), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

"""bot.nlu.spelling: typos, staff abbreviations and text-speak are read as the words they stand for, in the
tokens the classifiers read and the corrected text the encoder reads; the visitor's text is unchanged."""
from __future__ import annotations

import re

import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.spelling import CORRECTED_TEXT_KEY, DomainSpellingCorrector

VOCABULARY = {"member": ("member", 3), "states": ("state", 3), "liaison": ("liaison", 5), "office": ("office", 9),
              "are": ("be", 7), "your": ("your", 4), "goals": ("goal", 2), "what": ("what", 9)}


def corrected(text: str):
    corrector = DomainSpellingCorrector({}, None, None, VOCABULARY)  # type: ignore[arg-type]
    message = Message(data={TEXT: text})
    # Rasa's spaCy tokenizer lower-cases the token texts; the offsets point into the visitor's text.
    message.set(TOKENS_NAMES[TEXT], [Token(m.group().lower(), m.start()) for m in re.finditer(r"\w+", text)])
    corrector.process([message])
    return message.get(CORRECTED_TEXT_KEY), [(t.text, t.lemma) for t in message.get(TOKENS_NAMES[TEXT])]


@pytest.mark.parametrize("text,expected", [
    ("how many MS?", "how many member states?"),
    ("GO Brussels role", "global office Brussels role"),
    ("wat r ur goals", "what are your goals"),
    ("bjr jvoudrais savoir cque fait loim a bxl", "bonjour je voudrais savoir ce que fait l'OIM a Bruxelles"),
    ("when was the liason set up", "when was the liaison set up"),
])
def test_what_the_encoder_reads(text, expected):
    assert corrected(text)[0] == expected


def test_french_text_speak_the_training_data_uses_itself_is_left_as_it_is():
    corrector = DomainSpellingCorrector({}, None, None, {**VOCABULARY, "svp": ("svp", 4)})  # type: ignore[arg-type]
    assert corrector.expansion("svp") is None and corrector.expansion("stp") == ("s'il te plaît", "s'il te plaît")


def test_the_classifiers_read_the_lemmas_of_the_words_meant():
    _, tokens = corrected("wat r ur goals")
    assert tokens[:3] == [("what", "what"), ("are", "be"), ("your", "your")]


@pytest.mark.parametrize("text", ["Ms Smith asked about the office", "ms", "the co-chair", "Go ahead"])
def test_lower_or_mixed_case_abbreviations_are_other_words(text):
    assert corrected(text)[0] is None

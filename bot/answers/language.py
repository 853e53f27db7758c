"""Which language to answer in: the conversation's, unless the visitor asks for or writes in another.

In order:
1. an explicit switch (the widget's English / Français buttons, or "in English please", "en français") -> that
   language, for the rest of the conversation;
2. a question reliably recognised as English or French (bot/nlu/language.py: long enough, clear enough) ->
   that language, also for what follows ("a later French question after an English one switches");
3. otherwise (short or unclear text: "ok", "EURCAP?") the conversation keeps its language; a new conversation
   starts in the client's hint (the widget page's language, the Slack user's locale), else in the language
   the first message is most likely written in ("salut" -> French), else the default.
A question reliably recognised as another language (Dutch, German...) is answered, in the conversation's
language, with a note that the assistant answers in English and French (`other` is then set).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from bot.answers.content_store import DEFAULT_LANGUAGE, LANGUAGES
from bot.protocol import DetectedLanguage

# "could you answer in French please?" when the NLU found the request but not the language entity.
NAMED = [(re.compile(r"\b(english|anglais|ingl[eé]s|englisch|engels|inglese|angielsk\w*)\b", re.I), "en"),
         (re.compile(r"\b(french|fran[cç]ais|franc[eé]s|franz[oö]sisch|frans|francese|francusk\w*)\b", re.I), "fr")]
FIRST_MESSAGE_CONFIDENCE = 0.5  # a first message too short to be reliable still sets the language if likely


@dataclass(frozen=True)
class LanguageChoice:
    reply: str  # one of LANGUAGES
    other: Optional[str] = None  # the visitor's language when it is not one we answer in


def served(language: Optional[str]) -> Optional[str]:
    """`language` (a code, or a locale such as fr-BE) when we answer in it, else None."""
    code = (language or "").split("-")[0].split("_")[0].lower()
    return code if code in LANGUAGES else None


def named_language(text: str) -> Optional[str]:
    """The language a switch request names ("in French please"): the last one named, else None."""
    found = [(match.start(), code) for pattern, code in NAMED for match in pattern.finditer(text or "")]
    return max(found)[1] if found else None


def choose_language(current: Optional[str], detected: Optional[DetectedLanguage], hint: Optional[str] = None,
                    requested: Optional[str] = None) -> LanguageChoice:
    first_guess = served(detected.language) if detected and detected.confidence >= FIRST_MESSAGE_CONFIDENCE else None
    base = served(current) or served(hint) or first_guess or DEFAULT_LANGUAGE
    if served(requested):
        return LanguageChoice(served(requested) or base)
    if detected is None or not detected.reliable:
        return LanguageChoice(base)
    if served(detected.language):
        return LanguageChoice(served(detected.language) or base)
    return LanguageChoice(base, other=detected.language)

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
from typing import Optional, Tuple

from bot.answers.content_store import DEFAULT_LANGUAGE, LANGUAGES
from bot.protocol import DetectedLanguage

# "could you answer in French please?" when the NLU found the request but not the language entity.
NAMED = [(re.compile(r"\b(english|anglais|ingl[eé]s|englisch|engels|inglese|angielsk\w*)\b", re.I), "en"),
         (re.compile(r"\b(french|fran[cç]ais|franc[eé]s|franz[oö]sisch|frans|francese|francusk\w*)\b", re.I), "fr")]
FIRST_MESSAGE_CONFIDENCE = 0.4  # a first message too short to be reliable still sets the language if likely
# (the most likely of 8 languages: "Tu es un robot ?" is French at 0.49, "oui" at 0.48)


@dataclass(frozen=True)
class LanguageChoice:
    reply: str  # one of LANGUAGES
    other: Optional[str] = None  # the visitor's language when it is not one we answer in


def served(language: Optional[str]) -> Optional[str]:
    """`language` (a code, or a locale such as fr-BE) when we answer in it, else None."""
    code = (language or "").split("-")[0].split("_")[0].lower()
    return code if code in LANGUAGES else None


NEGATION = re.compile(r"\b(not|no|don['’]?t|doesn['’]?t|can['’]?t|cannot|pas|ne|n['’]|plus|nicht|niet)\b", re.I)
# "Pouvez-vous répondre en français ? Depuis quand…", "et en français maintenant : quel autre projet…": a
# request for a language, then a question, in one message.
LEADING_REQUEST = re.compile(
    r"^\W*((thanks?|thank you|merci)\W+)?((and|et)\s+)?("
    r"((can|could|would|will) you|pls|please)?\s*(please\s+)?(answer|reply|respond|write|speak|talk|continue)"
    r"(\s+to me)?\s+in\s+\w+|in\s+\w+(\s+(please|now|from now on))?|"
    r"((pouvez|pourriez|voulez)-vous|peux-tu|tu peux|merci de)?\s*(me\s+)?(r[ée]pondre|[ée]crire|parler|continuer)"
    r"\s+en\s+\w+|en\s+\w+(\s+(svp|stp|s['’]il vous pla[iî]t|maintenant|d[ée]sormais))?"
    r")(\s+(please|svp|stp|s['’]il vous pla[iî]t|maintenant|now))?\s*[?:.!,;-]+\s*", re.I)
MIN_QUESTION_WORDS = 2
ASKED_FOR = re.compile(r"\b(in|en|to|auf|op|al|em)\s+$", re.I)  # "in French", "en anglais": a language asked for
# "Ah pardon, je préfère en français finalement. Pourquoi cette date ?": a first sentence asking for a
# language (a preference or request verb, then within two words "in/en/to <language>"), then the question. Not
# "I usually speak to my partners in French." The first sentence is cut first: one pattern with several
# unbounded runs took seconds to fail on 2,000 characters.
SENTENCE_END = re.compile(r"[.!?:;]")
REQUEST_SENTENCE = re.compile(
    r"\b(pr[ée]f[eè]r\w*|prefer\w*|plut[oô]t|rather|switch\w*|(re)?pass\w*|continu\w*|r[ée]pond\w*|answer|reply|"
    r"[ée]cri\w*|write|parl\w*|speak)\W+(\w+\W+){0,2}?(in|en|to)\s+(english|anglais|french|fran[cç]ais)\b", re.I)


def _clause_before(text: str, start: int) -> str:
    """Up to 25 characters before `start`, within its clause: "not in English: French" negates only English."""
    return re.split(r"[,:;.!?]", text[max(0, start - 25):start])[-1]


def named_language(text: str) -> Optional[str]:
    """The language a switch request names ("in French please"): the first one asked for ("in/en <language>")
    that is not negated, else the first one named that is not negated ("English please, my colleague doesn't
    read French" -> en; "not in English: French" -> fr; "mon anglais n'est pas top, répétez en français" -> fr),
    else None."""
    text = text or ""
    found = sorted((match.start(), code) for pattern, code in NAMED for match in pattern.finditer(text))
    wanted = [(start, code) for start, code in found if not NEGATION.search(_clause_before(text, start))]
    asked = [code for start, code in wanted if ASKED_FOR.search(text[max(0, start - 8):start])]
    return next(iter(asked or [code for _, code in wanted] or [code for _, code in found]), None)


def leading_request(text: str) -> Tuple[Optional[str], str]:
    """(the language a leading request asks for, the question after it), or (None, text) when the message is
    not a language request followed by a question."""
    text = text or ""
    match = LEADING_REQUEST.match(text)
    if match:
        language, rest = named_language(match.group(0)), text[match.end():].strip()
    else:
        end = SENTENCE_END.search(text)
        if end is None or end.group(0) == "?" or "?" not in text[end.end():]:
            return None, text
        request = REQUEST_SENTENCE.search(text[:end.start()])
        if request is None:
            return None, text
        language, rest = named_language(request.group(0)), text[end.end():].lstrip(".!:; ").strip()
    if language is None or len(rest.split()) < MIN_QUESTION_WORDS:
        return None, text
    return language, rest


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

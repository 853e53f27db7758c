"""Two questions in one message: "When was IOM founded and how many member states does it have?".

Rasa's NLU gives one intent per message, so a visitor who asks two things at once gets one answer and
rarely notices the other was dropped. Here the message is cut where a second question starts (a
conjunction or a question mark followed by a question word), each part is parsed by the same NLU, and the
message is answered as consecutive turns only when every part on its own is a confident question about a
different content entry. Anything less ("the partners and priorities of the office", "when and why?",
"thanks, and what is EURCAP?") stays one message. A message that introduces the visitor before it asks is
read by its asking sentences (`without_introduction`), one that runs a greeting into its question without a
comma by the question (`without_greeting`).

Written by hand: the cut is a few regular expressions over English and French, and the decision reads our
content store; no library does either.
"""
from __future__ import annotations

import re
from typing import Any, Awaitable, Callable, Dict, List, Optional

from bot.answers import details
from bot.answers.content_store import Content
from bot.answers.dialogue import FALLBACK_INTENT, subject_of

Parse = Callable[[str], Awaitable[Dict[str, Any]]]

MAX_PARTS = 3
MIN_WORDS = 2  # "why?" alone is a follow-up, not a question the NLU can place
GREET_INTENT = "greet"

QUESTION_WORDS = (
    r"what(?:['’]?s)?|whats|when|who(?:m|se)?|why|how|which|where|is|are|was|were|does|do|did|has|have|can|could|"
    r"tell|give|list|explain|name|"
    r"quel(?:le)?s?|quand|qui|pourquoi|comment|combien|o[uù]|est-ce|c['’]est|qu['’]est|que|quoi|depuis|"
    r"parlez|dites|expliquez|pouvez|avez|êtes|etes")
# ", and what…", " et quand…", "; how…", "? Who…": the cut keeps the question word with the second part.
# The text reaching here has single spaces (`screening.screen`), and the pattern relies on it: no two
# quantifiers compete for one run of whitespace ("\s*[,;]?\s+" took a minute on 2,000 spaces).
CUT = re.compile(rf"(?:(?: ?[,;])? (?:and|et|&|plus) (?:also |aussi )?| ?[;?] ?(?:(?:and|et) )?)"
                 rf"(?=(?:{QUESTION_WORDS})\b)| ?[,;] ?(?:and|et) ", re.I)  # ", and …" / ", et …": any second part


def parts(text: str) -> List[str]:
    """The questions a message seems to hold, in order (one part: not a compound question)."""
    pieces = [p.strip(" ,;") for p in CUT.split(text or "")]
    pieces = [p for p in pieces if p]
    if not 2 <= len(pieces) <= MAX_PARTS or any(len(p.split()) < MIN_WORDS for p in pieces):
        return [text]
    return pieces


async def split(text: str, parse: Optional[Parse], content: Content) -> List[str]:
    """The parts to answer one after the other: several when each is a confident question about its own
    content entry, else the whole text."""
    pieces = parts(text)
    if len(pieces) == 1 or parse is None:
        return [text]
    entries = []
    for piece in pieces:
        parsed = await parse(piece)
        intent = (parsed.get("intent") or {}).get("name")
        entry = content.find(intent, subject_of(parsed.get("entities") or [])) \
            if intent and intent != FALLBACK_INTENT else None
        if entry is None:
            return [text]
        entries.append(entry.id)
    return pieces if len(set(entries)) == len(entries) else [text]


# "I work for a humanitarian NGO. Could you explain whether the office works on crisis situations? Thank you."
# Visitors introduce themselves before they ask, and the introduction's words steer the NLU (here to the NGO
# partners); the asking sentences alone say what is wanted.
SALUTATION = re.compile(r"^(?:(?:hello|hi|hey|dear\s+[\w\s]{0,30}?|good (?:morning|afternoon|evening)|bonjour|bonsoir|"
                        r"salut|madame,?\s*monsieur|cher(?:e|s|es)?\s+[\w\s]{0,30}?)\s*[,!:.]\s*)+", re.I)
# A sentence about the visitor, not a question: "I'm a student.", "Je suis journaliste.", "As a researcher, …".
ABOUT_THE_VISITOR = re.compile(r"^(?:i\b|i['’]m\b|im\b|we\b|we['’]re\b|my\b|our\b|as an?\b|je\b|j['’]|nous\b|mon\b|"
                               r"ma\b|mes\b|notre\b|en tant que\b|dans le cadre\b)", re.I)
# The introduction itself asks ("…and wondered whether our agency falls within your scope. Could you clarify?").
INTRODUCTION_ASKS = re.compile(r"\b(wonder\w*|know|ask\w*|curious|question|like to|love to|understand\w*|learn|"
                               r"find out|savoir|demand\w*|interroge\w*|aimerais|voudrais|souhait\w*|comprendre)\b",
                               re.I)
# The question leans on the introduction: "I keep hearing the term AVRR. Could you tell me what it stands for?"
LEANS_BACK = re.compile(r"\b(it|its|this|that|these|those|them|they|there|he|she|him|her|more|the (project|programme|"
                        r"one)|ça|ca|cela|ceci|(en )?(dire|savoir) plus|"
                        r"plus de (d[ée]tails|pr[ée]cisions|infos?|informations)|il|elle|ils|elles|lui|y|le projet|"
                        r"celui|celle)\b", re.I)  # "les plus fragiles" leans on nothing


# "bonjour qu'est ce que l'OIM", "hi there what is eurcap": a greeting run into the question, with no comma.
LEADING_GREETING = re.compile(r"^(?:hello|hi|hey|hiya|good (?:morning|afternoon|evening)|bonjour|bonsoir|salut|"
                              r"coucou|slt|bjr|hallo|hola|ciao|buongiorno|guten tag|goedemiddag|goedemorgen)"
                              r"(?: (?:there|all|everyone|à tous|a tous|tout le monde))?[ ,!.:;-]+(?=\w)", re.I)


async def without_greeting(text: str, parse: Optional[Parse]) -> str:
    """The message without its leading greeting when the greeting outweighs the question in the NLU (the whole
    reads as a greeting or is not understood, the rest alone is a question); else the message as it is."""
    greeting = LEADING_GREETING.match(text or "")
    rest = text[greeting.end():] if greeting else ""
    if parse is None or len(rest.split()) < MIN_WORDS:
        return text
    if ((await parse(text)).get("intent") or {}).get("name") not in (FALLBACK_INTENT, GREET_INTENT, None):
        return text
    alone = ((await parse(rest)).get("intent") or {}).get("name")
    return rest if alone not in (FALLBACK_INTENT, GREET_INTENT, None) else text


def asking_sentences(text: str) -> Optional[str]:
    """What the message asks after the sentences that only introduce the visitor ("I'm a programme officer with
    an NGO in Ghent. We'd like to understand what the office works towards. Could you summarise?" -> from "We'd
    like…"); None when the message does not start that way, or when its first asking sentence leans on the
    introduction (later ones may lean on that sentence: "…integration in Europe. Does the office work on that?")."""
    sentences = details.sentences(SALUTATION.sub("", (text or "").strip()))
    introduction = 0
    while introduction < len(sentences) and not sentences[introduction].endswith("?") \
            and ABOUT_THE_VISITOR.match(sentences[introduction]) \
            and len(sentences[introduction].split()) >= 3 and not INTRODUCTION_ASKS.search(sentences[introduction]):
        introduction += 1  # "I see." is too short to introduce anyone
    rest = sentences[introduction:]
    asking = [i for i, sentence in enumerate(rest) if sentence.endswith("?") or INTRODUCTION_ASKS.search(sentence)]
    if not introduction or not asking or not any(sentence.endswith("?") for sentence in rest):
        return None
    question = " ".join(rest[asking[0]:max(i for i, sentence in enumerate(rest) if sentence.endswith("?")) + 1])
    return None if asking[0] != 0 or LEANS_BACK.search(rest[0]) else question


async def without_introduction(text: str, parse: Optional[Parse], content: Optional[Content] = None) -> str:
    """The asking sentences of a message that introduces the visitor first, when the NLU places them; else the
    message as it is. When only the introduction names a subject, the message stays whole if that subject is
    one of the question's own topics ("I'm researching AVRR for my thesis. What does the office work
    towards?": the AVRR result); a subject of another kind is the visitor's affiliation ("I'm an officer with
    an NGO. What outcomes is the office pushing for?" is not about the NGO partners) and is dropped."""
    question = asking_sentences(text)
    if question is None or parse is None:
        return text
    alone = await parse(question)
    intent = (alone.get("intent") or {}).get("name")
    if not intent or intent == FALLBACK_INTENT:
        return text
    if subject_of(alone.get("entities") or []) is not None or content is None:
        return question  # the question names what it is about
    whole = await parse(text)
    subject = subject_of(whole.get("entities") or [])
    entry = content.find(intent, subject) if subject and (whole.get("intent") or {}).get("name") == intent else None
    return text if entry is not None and entry.subject == subject and entry.intent == intent else question

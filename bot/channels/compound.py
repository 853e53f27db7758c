"""Two questions in one message: "When was IOM founded and how many member states does it have?".

Rasa's NLU gives one intent per message, so a visitor who asks two things at once gets one answer and
rarely notices the other was dropped. Here the message is cut where a second question starts (a
conjunction or a question mark followed by a question word), each part is parsed by the same NLU, and the
message is answered as consecutive turns only when every part on its own is a confident question about a
different content entry. Anything less ("the partners and priorities of the office", "when and why?",
"thanks, and what is EURCAP?") stays one message and goes through the NLU as it is.

Written by hand: the cut is a few regular expressions over English and French, and the decision reads our
content store; no library does either.
"""
from __future__ import annotations

import re
from typing import Any, Awaitable, Callable, Dict, List, Optional

from bot.answers.content_store import Content
from bot.answers.dialogue import FALLBACK_INTENT, subject_of

Parse = Callable[[str], Awaitable[Dict[str, Any]]]

MAX_PARTS = 3
MIN_WORDS = 2  # "why?" alone is a follow-up, not a question the NLU can place

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

"""Feedback on answers: 👍 / 👎 buttons under every content answer, optional reasons and a comment after 👎.

It never interrupts: the buttons sit beside the follow-ups, and a visitor who ignores them just asks the next
question. After a 👎 and a reason, the next message is taken as a comment only if it is not a question the
assistant understands (NLU: fallback or out of scope, or a typed rating such as "the answer was confusing");
otherwise it is answered as usual.

Feedback is stored with the conversation as `feedback` slot events (`Feedback.to_slot()`), one per step
(rating, reason, comment), which `make report` merges per answer. It never changes the model by itself:
`make review` and `make train` do, with a person deciding.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Mapping, Optional

from bot.answers.content_store import Content

FEEDBACK_INTENT = "feedback"
FEEDBACK_SLOT = "feedback"
AWAITING_COMMENT_SLOT = "awaiting_comment"  # the entry a 👎 was given to, while its comment may come
RATINGS = ("up", "down")
REASONS = ("wrong", "missing", "unclear")
MAX_COMMENT_CHARS = 500


@dataclass(frozen=True)
class Feedback:
    entry: str
    rating: str
    reason: Optional[str] = None
    comment: Optional[str] = None

    def to_slot(self) -> Dict[str, Any]:
        return asdict(self)


def payload(entry: str, rating: str, reason: Optional[str] = None) -> str:
    values = {"rating": rating, "entry": entry, **({"reason": reason} if reason else {})}
    return f"/{FEEDBACK_INTENT}" + json.dumps(values, separators=(",", ":"))


def valid_payload_values(values: Mapping[str, Any], content: Content) -> bool:
    """What a typed `/feedback{...}` may carry to pass as a command (bot/channels/screening.py)."""
    entry = values.get("entry")  # any JSON: a list or object here made `in content.entries` raise (HTTP 500)
    return (set(values) <= {"rating", "entry", "reason"} and values.get("rating") in RATINGS
            and isinstance(entry, str) and entry in content.entries and values.get("reason", REASONS[0]) in REASONS)


def rating_buttons(content: Content, entry: str, language: str) -> List[Dict[str, str]]:
    return [{"title": content.message(f"feedback_{rating}_button", language), "payload": payload(entry, rating)}
            for rating in RATINGS]


def reason_buttons(content: Content, entry: str, language: str) -> List[Dict[str, str]]:
    return [{"title": content.message(f"feedback_reason_{reason}", language),
             "payload": payload(entry, "down", reason)} for reason in REASONS]


# Typed feedback without a recognised rating: the words that say which way it goes.
NEGATIVE = re.compile(r"\b(wrong|incorrect|inaccurate|not (helpful|useful|clear|right)|useless|unhelpful|bad|"
                      r"outdated|confusing|incomplete|didn'?t help|faux|fausse|inexacte?|erron|pas (utile|claire?|"
                      r"juste|bonne?)|inutile|mauvaise?|incompl[eè]te?|confuse)\b", re.I)
POSITIVE = re.compile(r"\b(helpful|useful|great|good|perfect|excellent|clear|thanks?|utile|parfait|excellente?|"
                      r"claire?|bravo|merci|top|super)\b", re.I)


def typed_rating(text: str) -> Optional[str]:
    if NEGATIVE.search(text):
        return "down"
    return "up" if POSITIVE.search(text) else None


def typed_rating_is_comment(intent: Optional[str], text: str, awaiting_comment: Optional[str],
                            content: Content) -> bool:
    """After a 👎 and its reason, a typed rating ("the answer was confusing, I needed the dates") is the comment
    asked for. Taken as a new 👎 it asked for the reasons again and the comment was lost. A button's payload
    (text starting with "/") is still a new rating."""
    return (intent == FEEDBACK_INTENT and awaiting_comment is not None and awaiting_comment in content.entries
            and not text.startswith("/"))


def from_entities(entities: List[dict], topic: Optional[str], text: str = "") -> Optional[Feedback]:
    """The feedback a button (or a typed "that was helpful") gives: about its entry, else the topic."""
    values = {e.get("entity"): e.get("value") for e in entities}
    rating, entry = values.get("rating") or typed_rating(text), values.get("entry") or topic
    if rating not in RATINGS or not isinstance(entry, str):
        return None
    reason = values.get("reason") if values.get("reason") in REASONS else None
    return Feedback(entry, rating, reason)

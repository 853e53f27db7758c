"""What the parts of one turn tell each other across process boundaries, typed in one place.

    NLU (Rasa process) --parse data--> action (action server) --bot message--> channel (Rasa process)

- The NLU's fallback classifier (`bot.nlu.fallback`) records why it fell back, and with which threshold,
  under `FALLBACK_KEY` in the parse data, so the action decides "did you mean" without reading config.yml.
- The NLU's language classifier (`bot.nlu.language`) records the language it recognised under
  `LANGUAGE_KEY`; the action decides from it, and the conversation's language so far, which to answer in.
- The action attaches a `TurnRecord` to its message under `TURN_KEY`; the channel logs it (one line per
  turn) and never shows it to the user.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any, Dict, Mapping, Optional

FALLBACK_KEY = "iom_fallback"
LANGUAGE_KEY = "iom_language"
TURN_KEY = "turn"
# In the message metadata, set by the channel (never by the client): the language a request at the start of
# the message asked for ("In French please: …"; bot/answers/language.py `leading_request`).
REQUESTED_LANGUAGE_KEY = "requested_language"
REPLY_LANGUAGE_KEY = "lang"  # on every bot message: the language it is written in (the widget sets lang="...")


class FallbackReason(str, Enum):
    LOW_CONFIDENCE = "low_confidence"  # the top intent is under the threshold
    AMBIGUOUS = "ambiguous"  # the top two intents are closer than the ambiguity threshold


@dataclass(frozen=True)
class Fallback:
    reason: FallbackReason
    threshold: float

    def to_dict(self) -> Dict[str, Any]:
        return {"reason": self.reason.value, "threshold": self.threshold}

    @classmethod
    def from_parse_data(cls, parse_data: Mapping[str, Any]) -> Optional["Fallback"]:
        raw = parse_data.get(FALLBACK_KEY)
        if not isinstance(raw, dict):
            return None
        try:
            return cls(FallbackReason(raw["reason"]), float(raw["threshold"]))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class DetectedLanguage:
    language: str  # ISO 639-1 code
    confidence: float
    reliable: bool  # long enough and clear enough to change the conversation's language

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_parse_data(cls, parse_data: Mapping[str, Any]) -> Optional["DetectedLanguage"]:
        raw = parse_data.get(LANGUAGE_KEY)
        if not isinstance(raw, dict):
            return None
        try:
            return cls(str(raw["language"]), float(raw["confidence"]), bool(raw["reliable"]))
        except (KeyError, TypeError, ValueError):
            return None


class ReplyKind(str, Enum):
    ANSWER = "answer"  # a content entry
    MORE = "more"  # "tell me more" about the conversation's topic
    MESSAGE = "message"  # chitchat, help, out of scope: a message from messages.yml
    DID_YOU_MEAN = "did_you_mean"  # two close intents offered as buttons
    FALLBACK = "fallback"  # not understood: the topic menu
    FEEDBACK = "feedback"  # a reply to 👍 / 👎, a reason or a comment
    NO_DETAIL = "no_detail"  # the question asks for a date, figure or names the content does not give


@dataclass(frozen=True)
class TurnRecord:
    """What the action decided, for the channel's per-turn log line (and, stored with the bot's message, for
    `make report`)."""
    intent: Optional[str]
    confidence: float
    entry: Optional[str]
    kind: ReplyKind
    language: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return {**asdict(self), "kind": self.kind.value}

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Optional["TurnRecord"]:
        raw = message.get(TURN_KEY)
        if not isinstance(raw, dict):
            return None
        try:
            return cls(raw.get("intent"), float(raw.get("confidence") or 0), raw.get("entry"), ReplyKind(raw["kind"]),
                       raw.get("language"))
        except (KeyError, TypeError, ValueError):
            return None

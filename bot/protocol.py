"""What the parts of one turn tell each other across process boundaries, typed in one place.

    NLU (Rasa process) --parse data--> action (action server) --bot message--> channel (Rasa process)

- The NLU's fallback classifier (`bot.nlu.fallback`) records why it fell back, and with which threshold,
  under `FALLBACK_KEY` in the parse data, so the action decides "did you mean" without reading config.yml.
- The action attaches a `TurnRecord` to its message under `TURN_KEY`; the channel logs it (one line per
  turn) and never shows it to the user.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any, Dict, Mapping, Optional

FALLBACK_KEY = "iom_fallback"
TURN_KEY = "turn"


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


class ReplyKind(str, Enum):
    ANSWER = "answer"  # a content entry
    MORE = "more"  # "tell me more" about the conversation's topic
    MESSAGE = "message"  # chitchat, help, out of scope: a message from messages.yml
    DID_YOU_MEAN = "did_you_mean"  # two close intents offered as buttons
    FALLBACK = "fallback"  # not understood: the topic menu


@dataclass(frozen=True)
class TurnRecord:
    """What the action decided, for the channel's per-turn log line."""
    intent: Optional[str]
    confidence: float
    entry: Optional[str]
    kind: ReplyKind

    def to_dict(self) -> Dict[str, Any]:
        return {**asdict(self), "kind": self.kind.value}

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Optional["TurnRecord"]:
        raw = message.get(TURN_KEY)
        if not isinstance(raw, dict):
            return None
        try:
            return cls(raw.get("intent"), float(raw.get("confidence") or 0), raw.get("entry"), ReplyKind(raw["kind"]))
        except (KeyError, TypeError, ValueError):
            return None

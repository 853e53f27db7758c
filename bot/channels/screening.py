"""Checks every channel applies to user text before it reaches Rasa (called by bot/channels/base.py).

- empty or whitespace-only text gets a polite prompt, and text over the length cap a polite "too long"
  reply, both without running NLU;
- text starting with "/" would be parsed by Rasa as an intent command (`/intent{"entity": ...}`), letting
  users bypass NLU. Only the exact payloads our own buttons send (listed by the content store) pass as
  commands; any other such text is prefixed with an invisible WORD JOINER so that Rasa treats it as text.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from bot.answers.content_store import Content

COMMAND_PREFIX = "/"
WORD_JOINER = "\u2060"  # invisible; not whitespace, so Rasa's `.strip()` keeps it and sees no "/"
# Commands besides the buttons' payloads: the widget's `initPayload`, which opens with a greeting.
EXTRA_COMMANDS = frozenset({"/greet"})


@dataclass(frozen=True)
class Screened:
    """Either `text` to hand to Rasa, or a `reply` to send straight back."""
    text: Optional[str] = None
    reply: Optional[str] = None


def screen(text: str, content: Content, limit: int) -> Screened:
    if len(text) > limit:
        return Screened(reply=content.message("too_long", length=f"{len(text):,}", limit=f"{limit:,}"))
    stripped = text.strip()
    if not stripped:
        return Screened(reply=content.message("empty_message"))
    if stripped.startswith(COMMAND_PREFIX) and stripped not in content.payloads and stripped not in EXTRA_COMMANDS:
        return Screened(text=WORD_JOINER + stripped)
    return Screened(text=text)


PREVIEW_CHARS = 80


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """User text shortened for logs."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"

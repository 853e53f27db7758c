"""Checks every channel applies to what a client sends before it reaches Rasa (called by bot/channels/base.py).

- conversation ids: 1-255 printable characters that encode as UTF-8 (Rasa's `sender_id` column is
  VARCHAR(255); NUL, lone surrogates or control characters made SQLite and PostgreSQL raise errors that
  Rasa treats as fatal), else `sender_problem()` says what is wrong and the channel refuses the request;
- text: lone surrogates and control characters other than newline and tab are removed (`clean_text`), and
  what reaches Rasa has single spaces (`screen`);
- metadata: only the keys we use (`language`, `page`), short strings, at most `MAX_METADATA_BYTES`;
- empty or whitespace-only text gets a polite prompt, and text over the length cap a polite "too long"
  reply, both without running NLU;
- text starting with "/" would be parsed by Rasa as an intent command (`/intent{"entity": ...}`), letting
  users bypass NLU. Only what our own buttons and widget send passes as a command (`allowed_command`): the
  content's payloads, `/greet`, a language switch to a language we answer in, and feedback on an existing
  answer; any other such text is prefixed with an invisible WORD JOINER so that Rasa treats it as text.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, Optional

from bot.answers import feedback
from bot.answers.content_store import DEFAULT_LANGUAGE, LANGUAGES, Content
from bot.answers.language import leading_request

MAX_SENDER_CHARS = 255
# Lone surrogates (U+D800-DFFF) and C0/C1 controls except \t and \n; \r\n and \r become \n first.
UNWANTED_CHARACTERS = re.compile("[\ud800-\udfff\x00-\x08\x0b-\x1f\x7f-\x9f]")
# "Thanks! Is it part of the UN?", "Bonjour, quand le bureau a-t-il été créé ?": a greeting or a thank-you,
# set off by punctuation, before a question. The NLU read the whole as "thanks" and the question went
# unanswered; the question alone is what needs an answer.
COURTESY = re.compile(
    r"^\s*(?:(?:ok(?:ay)?|great|perfect|super|parfait|top|génial|genial)\s*[,!.]*\s*)?"
    r"(?:thanks?(?: you)?(?: (?:so|very) much)?|thx|cheers|many thanks|merci(?: beaucoup| bien| bcp)?|"
    r"hello|hi|hey|good (?:morning|afternoon|evening)|bonjour|bonsoir|salut|coucou|hallo)"
    r"(?: (?:there|again|everyone|à tous|a tous))?\s*[!,.:;]+\s*", re.I)
QUESTION_START = re.compile(
    r"^(what|when|who|whom|why|how|where|which|is|are|was|were|does|do|did|can|could|would|will|tell|and|"
    r"quel|quelle|quels|quelles|quand|qui|pourquoi|comment|où|ou|est-ce|et|combien|dis|dites|parle|"
    r"parlez|pouvez|peux)\b", re.I)
WORDS = re.compile(r"\w+")
METADATA_KEYS = ("language", "page")  # what the widget sends and we use; other keys are dropped


class BadMetadata(ValueError):
    pass


def sender_problem(sender: Any) -> Optional[str]:
    """Why `sender` cannot identify a conversation, or None when it can."""
    if not isinstance(sender, str) or not sender.strip():
        return "must be a non-empty string (one id per conversation)"
    if len(sender) > MAX_SENDER_CHARS:
        return f"must be at most {MAX_SENDER_CHARS} characters"
    if not sender.isprintable():
        return "must contain only printable characters"
    try:
        sender.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (no lone surrogates)"
    return None


def clean_text(text: str) -> str:
    return UNWANTED_CHARACTERS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def clean_metadata(metadata: Any, max_bytes: int) -> Dict[str, str]:
    """The metadata we keep: `language` and `page` as strings; raises BadMetadata when it is not an object or
    is larger than `max_bytes` as JSON."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise BadMetadata("'metadata' must be a JSON object when given")
    try:
        size = len(json.dumps(metadata, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    except (TypeError, ValueError, RecursionError):
        raise BadMetadata("'metadata' must be plain JSON") from None
    if size > max_bytes:
        raise BadMetadata(f"'metadata' must be at most {max_bytes} bytes")
    return {key: clean_text(value) for key, value in metadata.items()
            if key in METADATA_KEYS and isinstance(value, str)}

COMMAND_PREFIX = "/"
WORD_JOINER = "\u2060"  # invisible; not whitespace, so Rasa's `.strip()` keeps it and sees no "/"
# Commands besides the buttons' payloads: the widget's `initPayload`, which opens with a greeting.
EXTRA_COMMANDS = frozenset({"/greet"})
COMMAND = re.compile(r"/(\w+)(\{.*\})?", re.S)


def allowed_command(text: str, content: Content) -> bool:
    if text in content.payloads or text in EXTRA_COMMANDS:
        return True
    match = COMMAND.fullmatch(text)
    if not match or not match.group(2):
        return False
    try:
        values = json.loads(match.group(2))
    except (ValueError, RecursionError):
        return False
    if not isinstance(values, dict):
        return False
    if match.group(1) == "switch_language":
        return set(values) == {"language"} and values["language"] in LANGUAGES
    if match.group(1) == feedback.FEEDBACK_INTENT:
        return feedback.valid_payload_values(values, content)
    return False


@dataclass(frozen=True)
class Screened:
    """Either `text` to hand to Rasa, or a `reply` to send straight back."""
    text: Optional[str] = None
    reply: Optional[str] = None
    language: Optional[str] = None  # a language the message asked for before its question


def screen(text: str, content: Content, limit: int, language: str = DEFAULT_LANGUAGE) -> Screened:
    if len(text) > limit:
        return Screened(reply=content.message("too_long", language, length=f"{len(text):,}", limit=f"{limit:,}"))
    stripped = text.strip()
    if not stripped:
        return Screened(reply=content.message("empty_message", language))
    if stripped.startswith(COMMAND_PREFIX) and not allowed_command(stripped, content):
        return Screened(text=WORD_JOINER + stripped)
    # Runs of whitespace become one space: nothing downstream reads them, and several patterns there
    # (LEADING_REQUEST, COURTESY, compound.CUT) backtrack for seconds over a long run of spaces otherwise.
    requested, question = leading_request(" ".join(stripped.split()))  # "In French please: who are…?"
    return Screened(text=without_courtesy(question), language=requested)


def without_courtesy(text: str) -> str:
    """The question after a leading "Thanks!" or "Bonjour," (COURTESY), else the text as it is."""
    match = COURTESY.match(text)
    rest = text[match.end():] if match else ""
    # Words, not tokens: "Salut, ça va ?" is a greeting, and its lone "?" is no third word.
    if match and len(WORDS.findall(rest)) >= 3 and ("?" in rest or QUESTION_START.match(rest)):
        return rest
    return text


PREVIEW_CHARS = 80


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """User text shortened for logs."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"

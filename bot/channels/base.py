"""What every input channel shares: one way into a turn, with a guaranteed reply and one log line.

An input channel subclasses `FaqChannel` (before the Rasa channel it extends), gives its output channel the
`RecordingOutput` mix-in, and hands each user text to `handle_text`:

1. screening (bot/channels/screening.py): empty or too long text gets a polite reply without NLU, typed
   `/intent` commands become plain text;
2. the turn: Rasa's `on_new_message`, capped at `TURN_TIMEOUT` seconds. If it produces no reply (action
   server down, hung or crashing: Rasa then logs the error and sends nothing) or fails, the user gets the
   polite "try again" message and an ERROR line is logged. Rasa's own wait for the action server is capped
   at `ACTION_TIMEOUT` by bot/rasa_patches.py, so a hung action server costs seconds, not 5 minutes;
3. one INFO line per turn on the `iom.turns` logger: hashed sender, channel, intent, confidence, content
   entry, reply kind, latency, and the user text shortened.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from enum import Enum
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage

from bot import rasa_patches
from bot.answers.content_store import ContentStore, shared_store
from bot.channels.screening import preview, screen
from bot.protocol import TurnRecord
from bot.settings import Settings, settings
from bot.stores.tracker_store import TrackerStoreUnavailable

log = logging.getLogger("iom.turns")
SENDER_HASH_CHARS = 12  # enough to follow one conversation in the logs, too short to be an id

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def hashed(sender: str) -> str:
    return hashlib.sha256(sender.encode("utf-8", "surrogatepass")).hexdigest()[:SENDER_HASH_CHARS]


class RecordingOutput(OutputChannel):
    """Mix-in for our output channels (put it first): counts replies and keeps the action's TurnRecord."""

    replies: int = 0
    turn: Optional[TurnRecord] = None

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        self.replies += 1
        self.turn = TurnRecord.from_message(message) or self.turn
        await super().send_response(recipient_id, message)


class TurnFailure(Enum):
    TIMEOUT = "no answer within TURN_TIMEOUT"
    STORE_UNAVAILABLE = "conversation store unavailable"
    ERROR = "the turn raised an error"
    NO_REPLY = "Rasa produced no reply (is the action server up? see the errors above)"


class FaqChannel(InputChannel):
    """Base of our input channels. Settings and content come from the process unless `configure`d (tests)."""

    _settings: Optional[Settings] = None
    _content: Optional[ContentStore] = None

    def configure(self, config: Optional[Settings] = None, content: Optional[ContentStore] = None) -> "FaqChannel":
        self._settings, self._content = config, content
        return self

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            if not rasa_patches.installed():
                log.warning("Rasa runs without bot.rasa_patches (start it with `python -m bot.server`): no cap "
                            "on the action server's timeout, slower action results")
            self._settings = settings()
        return self._settings

    @property
    def content(self) -> ContentStore:
        if self._content is None:
            self._content = shared_store(self.settings.content_dir)
        return self._content

    async def handle_text(self, on_new_message: OnNewMessage, text: str, sender: str, output: RecordingOutput,
                          metadata: Optional[Dict[str, Any]] = None) -> None:
        """The one way into a turn for every channel."""
        if not isinstance(output, RecordingOutput):
            raise TypeError(f"{type(output).__name__} must mix in RecordingOutput")
        screened = screen(text, self.content.get(), self.settings.max_message_chars)
        if screened.reply is not None:
            log.info("%s: answered without NLU for sender %s: %r", self.name(), hashed(sender), preview(text))
            await output.send_text_message(sender, screened.reply)
            return
        message = UserMessage(screened.text, output, sender, input_channel=self.name(), metadata=metadata)
        await self._run_turn(on_new_message, message, output, text)

    async def _run_turn(self, on_new_message: OnNewMessage, message: UserMessage, output: RecordingOutput,
                        original_text: str) -> None:
        started = time.perf_counter()
        failure: Optional[TurnFailure] = None
        detail = ""
        try:
            await asyncio.wait_for(on_new_message(message), self.settings.turn_timeout)
        except asyncio.TimeoutError:
            failure, detail = TurnFailure.TIMEOUT, f"{self.settings.turn_timeout:g} s"
        except TrackerStoreUnavailable as exc:
            failure, detail = TurnFailure.STORE_UNAVAILABLE, str(exc)
        except Exception as exc:  # noqa: BLE001 - the user must get an answer whatever broke
            failure, detail = TurnFailure.ERROR, f"{type(exc).__name__}: {exc}"
            log.exception("turn failed")
        if failure is None and output.replies == 0:
            failure = TurnFailure.NO_REPLY
        sender = hashed(message.sender_id)
        if failure is TurnFailure.STORE_UNAVAILABLE and output.replies:
            # The answer went out but could not be saved: keep it, and say so loudly in the log.
            log.error("turn answered but NOT SAVED for sender %s: %s (%s)", sender, failure.value, detail)
        elif failure:
            log.error("turn without an answer for sender %s on %s: %s %s; sent the 'try again' reply", sender,
                      message.input_channel, failure.value, detail)
            await output.send_text_message(message.sender_id, self.content.get().message("try_again"))
        turn = output.turn
        log.info("turn sender=%s channel=%s intent=%s confidence=%s entry=%s reply=%s latency_ms=%.0f text=%r",
                 sender, message.input_channel, turn.intent if turn else "-", turn.confidence if turn else "-",
                 (turn.entry if turn else None) or "-", "error" if failure else (turn.kind.value if turn else "-"),
                 (time.perf_counter() - started) * 1000, preview(original_text))

"""Running one user turn through Rasa, for every channel: a reply is guaranteed and each turn is logged.

- If the turn produces no reply (action server down, hung, or crashing: Rasa then logs the error and
  sends nothing), the user gets the polite "try again" message and an ERROR line is logged.
- Rasa waits 300 s for the action server; bot/rasa_patches.py caps that at `ACTION_TIMEOUT` (default 6 s),
  and the whole turn is capped at `TURN_TIMEOUT` (default 9 s): a hung action server costs seconds.
- One INFO line per turn on the `iom.turns` logger: hashed sender, channel, intent, confidence, content
  entry, reply kind, latency, and the user text truncated.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import OutputChannel, UserMessage

import bot.rasa_patches  # noqa: F401  (timeouts and a faster action-result check in the Rasa process)

from bot.channels.guard import preview
from bot.content_store import default_store
from bot.tracker_store import TrackerStoreUnavailable

log = logging.getLogger("iom.turns")
TURN_TIMEOUT = float(os.environ.get("TURN_TIMEOUT", "9"))
TURN_KEY = "turn"  # what action_answer attaches to its message (see actions/actions.py)



def hashed(sender: str) -> str:
    return hashlib.sha256(sender.encode("utf-8", "surrogatepass")).hexdigest()[:12]


class RecordingOutput:
    """Mixin for output channels: counts replies and keeps the turn details action_answer attached."""

    replies: int = 0
    turn: Optional[Dict[str, Any]] = None

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        self.replies += 1
        if isinstance(message.get(TURN_KEY), dict):
            self.turn = message[TURN_KEY]
        await super().send_response(recipient_id, message)


async def run_turn(on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage,
                   original_text: Optional[str] = None) -> None:
    """Hands `message` to Rasa; its output channel must mix in RecordingOutput."""
    output: OutputChannel = message.output_channel
    started = time.perf_counter()
    failure = None
    try:
        await asyncio.wait_for(on_new_message(message), TURN_TIMEOUT)
    except asyncio.TimeoutError:
        failure = f"no answer within {TURN_TIMEOUT:g} s"
    except TrackerStoreUnavailable as exc:
        failure = f"conversation store unavailable ({exc})"
    except Exception as exc:  # noqa: BLE001 - the user must get an answer whatever broke
        failure = f"{type(exc).__name__}: {exc}"
        log.exception("turn failed")
    if failure is None and output.replies == 0:
        failure = "Rasa produced no reply (is the action server up? see the errors above)"
    if failure and output.replies and "store unavailable" in failure:
        # The answer went out but could not be saved: keep it, and say so loudly in the log.
        log.error("turn answered but NOT SAVED for sender %s: %s", hashed(message.sender_id), failure)
    elif failure:
        log.error("turn without an answer for sender %s on %s: %s; sent the 'try again' reply",
                  hashed(message.sender_id), message.input_channel, failure)
        await output.send_text_message(message.sender_id, default_store().get().message("try_again"))
    turn = output.turn or {}
    log.info("turn sender=%s channel=%s intent=%s confidence=%s entry=%s reply=%s latency_ms=%.0f text=%r",
             hashed(message.sender_id), message.input_channel, turn.get("intent", "-"),
             turn.get("confidence", "-"), turn.get("entry") or "-", "error" if failure else turn.get("kind", "-"),
             (time.perf_counter() - started) * 1000, preview(original_text if original_text is not None
                                                             else message.text or ""))

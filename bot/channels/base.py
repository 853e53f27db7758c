"""What every input channel shares: one way into a turn, with limits, a guaranteed reply and one log line.

An input channel subclasses `FaqChannel` (before the Rasa channel it extends), gives its output channel the
`RecordingOutput` mix-in, checks the client's conversation id with `sender_problem` (refusing the request
when it is unusable) and hands each user text to `handle_text`:

1. limits (bot/channels/limits.py): per client address and per conversation rate, and a cap on the turns
   of one conversation queued at once. A refused turn returns `Refused` (with the seconds to wait); the
   channel tells its client (HTTP 429 with Retry-After, or the polite "slow down" message);
2. screening (bot/channels/screening.py): control characters and lone surrogates removed, empty or too long
   text answered without NLU, typed `/intent` commands made plain text;
3. the turn: Rasa's `on_new_message` under the conversation id `<channel>:<id>` (so a REST caller can
   never write into a Slack or widget conversation), capped at `TURN_TIMEOUT` seconds. If it produces no
   reply (action server down, hung or crashing: Rasa then logs the error and sends nothing) or fails, the
   user gets the polite "try again" message and an ERROR line is logged. Rasa's own wait for the action
   server is capped at `ACTION_TIMEOUT` by bot/rasa_patches.py;
4. one INFO line per turn on the `iom.turns` logger: keyed hash of the sender (bot/channels/signing.py),
   channel, intent, confidence, content entry, reply kind, latency, and the user text shortened.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from enum import Enum
from functools import cached_property, lru_cache
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage

from bot import rasa_patches
from bot.answers.content_store import DEFAULT_LANGUAGE, ContentStore, shared_store
from bot.channels import compound
from bot.channels.limits import RateLimiter, TurnQueue
from bot.channels.screening import clean_text, preview, screen, sender_problem
from bot.channels.signing import Signer
from bot.nlu.language import guess_language
from bot.protocol import REPLY_LANGUAGE_KEY, REQUESTED_LANGUAGE_KEY, TurnRecord
from bot.settings import Settings, settings
from bot.stores.tracker_store import TrackerStoreUnavailable

log = logging.getLogger("iom.turns")

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@dataclass(frozen=True)
class Refused:
    """A turn not run because of a limit: the client should wait `retry_after` seconds."""
    retry_after: int
    reason: str


class RecordingOutput(OutputChannel):
    """Mix-in for our output channels (put it first): counts replies, keeps the action's TurnRecord and the
    language of what it sends (`language`: a guess before the reply, then each message's own)."""

    replies: int = 0
    turn: Optional[TurnRecord] = None
    language: str = DEFAULT_LANGUAGE

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        self.replies += 1
        self.turn = TurnRecord.from_message(message) or self.turn
        self.language = message.pop(REPLY_LANGUAGE_KEY, None) or self.language
        await super().send_response(recipient_id, message)


class TurnFailure(Enum):
    TIMEOUT = "no answer within TURN_TIMEOUT"
    STORE_UNAVAILABLE = "conversation store unavailable"
    ERROR = "the turn raised an error"
    NO_REPLY = "Rasa produced no reply (is the action server up? see the errors above)"


@lru_cache(maxsize=None)
def shared_limits(client_per_minute: int, conversation_per_minute: int,
                  max_queued_turns: int) -> Tuple[RateLimiter, RateLimiter, TurnQueue]:
    """One set of limits per process, shared by its channels: a client is one client on every channel."""
    return RateLimiter(client_per_minute), RateLimiter(conversation_per_minute), TurnQueue(max_queued_turns)


class FaqChannel(InputChannel):
    """Base of our input channels. Settings and content come from the process unless `configure`d (tests)."""

    _settings: Optional[Settings] = None
    _content: Optional[ContentStore] = None
    _app: Any = None  # the Sanic app serving the channel, once started: its `ctx.agent` parses text

    def bind(self, app: Any) -> None:
        """Called by the channel's routes with the Sanic app serving them: its `ctx.agent` parses text."""
        self._app = app

    async def parse(self, text: str) -> Dict[str, Any]:
        """The NLU's reading of `text` alone (no turn, nothing stored); an empty one when there is no agent."""
        agent = getattr(getattr(self._app, "ctx", None), "agent", None)
        parse_message = getattr(agent, "parse_message", None)
        if parse_message is None:
            return {}
        try:
            return await parse_message(text)
        except Exception:  # noqa: BLE001 - a model still loading: answer the message whole
            log.warning("could not parse a part of a message", exc_info=True)
            return {}

    def configure(self, config: Optional[Settings] = None, content: Optional[ContentStore] = None) -> "FaqChannel":
        self._settings, self._content = config, content
        return self

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            if not rasa_patches.installed():
                log.warning("Rasa runs without bot.rasa_patches (start it with `python -m bot.server`): no cap "
                            "on the action server's timeout, slower action results, no request size limit")
            self._settings = settings()
        return self._settings

    @property
    def content(self) -> ContentStore:
        if self._content is None:
            self._content = shared_store(self.settings.content_dir)
        return self._content

    @cached_property
    def signer(self) -> Signer:
        return Signer(self.settings.secret_key)

    @cached_property
    def _limits(self) -> Tuple[RateLimiter, RateLimiter, TurnQueue]:
        return shared_limits(self.settings.client_messages_per_minute, self.settings.conversation_messages_per_minute,
                             self.settings.max_queued_turns)

    def conversation_id(self, sender: str) -> str:
        """The id Rasa stores the conversation under: one namespace per channel."""
        return f"{self.name()}:{sender}"

    def hashed(self, sender: str) -> str:
        return self.signer.log_hash(sender)

    async def handle_text(self, on_new_message: OnNewMessage, text: str, sender: str, output: RecordingOutput,
                          metadata: Optional[Dict[str, Any]] = None, client: Optional[str] = None
                          ) -> Optional[Refused]:
        """The one way into a turn for every channel. `sender` must have passed `sender_problem`; `client` is
        the address the request came from, when the channel knows it."""
        if not isinstance(output, RecordingOutput):
            raise TypeError(f"{type(output).__name__} must mix in RecordingOutput")
        problem = sender_problem(sender)
        if problem:  # the channel should have refused it; never let it reach the tracker store
            log.warning("%s: refused a turn whose conversation id %s", self.name(), problem)
            return Refused(0, f"conversation id {problem}")
        conversation = self.conversation_id(sender)
        clients, conversations, queue = self._limits
        retry_after = (clients.retry_after(client) if client else None) or conversations.retry_after(conversation)
        if retry_after:
            log.warning("%s: rate limit for sender %s (retry after %s s)", self.name(), self.hashed(conversation),
                        retry_after)
            return Refused(retry_after, "too many messages")
        text = clean_text(text)
        output.language = guess_language(text, (metadata or {}).get("language"))
        screened = screen(text, self.content.get(), self.settings.max_message_chars, output.language)
        if screened.reply is not None:
            log.info("%s: answered without NLU for sender %s: %r", self.name(), self.hashed(conversation),
                     preview(text))
            await output.send_text_message(conversation, screened.reply)
            return None
        with queue.slot(conversation) as admitted:
            if not admitted:
                log.warning("%s: %s turns already queued for sender %s", self.name(), queue.max,
                            self.hashed(conversation))
                return Refused(1, "too many messages waiting for an answer in this conversation")
            if screened.language:  # the request goes to the action as metadata, the question to the NLU
                metadata = {**(metadata or {}), REQUESTED_LANGUAGE_KEY: screened.language}
            # A greeting run into the question and an introduction before it are set aside; two questions in
            # one message are answered as two turns (bot/channels/compound.py).
            question = await compound.without_introduction(
                await compound.without_greeting(screened.text or "", self.parse), self.parse, self.content.get())
            pieces = [question] if screened.language else \
                await compound.split(question, self.parse, self.content.get())
            for piece in pieces:
                message = UserMessage(piece, output, conversation, input_channel=self.name(), metadata=metadata)
                await self._run_turn(on_new_message, message, output, text if len(pieces) == 1 else piece)
        return None

    async def send_refusal(self, output: OutputChannel, recipient: str) -> None:
        """The polite "slow down" reply, for channels that answer refusals with a message."""
        language = output.language if isinstance(output, RecordingOutput) else DEFAULT_LANGUAGE
        await output.send_text_message(recipient, self.content.get().message("slow_down", language))

    async def _run_turn(self, on_new_message: OnNewMessage, message: UserMessage, output: RecordingOutput,
                        original_text: str) -> None:
        started, replies_before = time.perf_counter(), output.replies
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
        if failure is None and output.replies == replies_before:
            failure = TurnFailure.NO_REPLY
        sender = self.hashed(message.sender_id)
        if failure is TurnFailure.STORE_UNAVAILABLE and output.replies > replies_before:
            # The answer went out but could not be saved: keep it, and say so loudly in the log.
            log.error("turn answered but NOT SAVED for sender %s: %s (%s)", sender, failure.value, detail)
        elif failure:
            log.error("turn without an answer for sender %s on %s: %s %s; sent the 'try again' reply", sender,
                      message.input_channel, failure.value, detail)
            await output.send_text_message(message.sender_id, self.content.get().message("try_again", output.language))
        turn = output.turn
        log.info("turn sender=%s channel=%s intent=%s confidence=%s entry=%s reply=%s latency_ms=%.0f text=%r",
                 sender, message.input_channel, turn.intent if turn else "-", turn.confidence if turn else "-",
                 (turn.entry if turn else None) or "-", "error" if failure else (turn.kind.value if turn else "-"),
                 (time.perf_counter() - started) * 1000, preview(original_text))

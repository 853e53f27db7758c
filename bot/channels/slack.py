"""Slack channel for IOM staff, fixed for real workspaces.

Stock SlackInput/SlackBot (Rasa 3.6.21):
- posts with `as_user=True`, which Slack rejects for new-style apps;
- answers a retry again unless its reason is `http_timeout`: duplicate answers;
- drops all buttons when there are more than 5, sends Markdown that Slack does not render (`**bold**`);
- compares Content-Type exactly, answers 500 to payloads it does not understand, and cannot be pointed at
  another Web API base URL.
Here: events are deduplicated by id whatever the retry reason (in Redis when REDIS_HOST is set, so a retry
that nginx sends to another replica is not answered twice; in process otherwise); buttons are Block Kit
actions (5 per block, never dropped); replies go in the thread the question was asked in, in the user's Slack
locale when it is English or French (`users.info`, scope `users:read`; else the detected language); with
SLACK_ESCALATION_CHANNEL, a question the assistant could not answer gets an "Ask the team" button that posts
it, with a link to the thread, to that staff channel; `SLACK_API_URL` sets the Web API base URL. Secrets come
from the settings (`SLACK_TOKEN`, `SLACK_SIGNING_SECRET`, optional `SLACK_CHANNEL`); without them the webhook
answers 503 and the rest of the assistant runs as usual. Text goes through bot/channels/base.py.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import OrderedDict
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Coroutine, Dict, List, Optional, Text, Tuple
from urllib.parse import parse_qs

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from sanic import Blueprint, response
from sanic.request import Request
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.base import FaqChannel, RecordingOutput
from bot.channels.screening import sender_problem
from bot.nlu.language import guess_language
from bot.protocol import ReplyKind
from bot.settings import Settings

log = logging.getLogger(__name__)
BUTTONS_PER_BLOCK = 5
MAX_BUTTON_BLOCKS = 5  # 25 buttons: more than any entry has (content allows 5)
SEEN_EVENTS = 10_000
SEEN_EVENT_TTL_S = 3600  # Slack retries within minutes
SEEN_EVENT_KEY = "iom:slack:event:"
ESCALATE_PREFIX = "escalate:"  # a button value: the question to pass on (handled here, never sent to Rasa)
MAX_ESCALATED_CHARS = 1900  # Slack's button values hold 2,000 characters
LOCALE_CACHE_S = 3600
BUTTON_TEXT_CHARS = 75  # Slack's limit for a button's text
REDIS_TIMEOUT_S = 1  # a slow Redis must not delay the 3 s answer Slack expects


def shared_event_ids(config: Settings):
    """The scale profile's Redis (the lock store's), or None without one."""
    if not config.redis_host:
        return None
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
    return redis.Redis(host=config.redis_host, port=config.redis_port, password=config.redis_password,
                       db=config.redis_db, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S,
                       retry_on_error=[redis.ConnectionError], retry=Retry(NoBackoff(), 1))


# Slack's special mentions in a user's text: <!channel>, <!here>, <!everyone>, <!subteam^ID|@team>, <!date^...|text>.
SPECIAL_MENTION = re.compile(r"<!([^>|]*)(?:\|([^>]*))?>")


def quoted(question: str) -> str:
    """A user's question as a block quote for the staff channel: every line quoted, and special mentions as plain
    text, so passing on "@channel what is IOM?" does not notify the whole channel."""
    text = SPECIAL_MENTION.sub(lambda m: m.group(2) or "@" + m.group(1).split("^")[0], question)
    return "\n".join(">" + line for line in text.splitlines() or [""])


def to_mrkdwn(markdown: str) -> str:
    """CommonMark as our answers use it → Slack mrkdwn (bold, links)."""
    text = re.sub(r"\*\*(.+?)\*\*", r"*\1*", markdown, flags=re.S)
    return re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"<\2|\1>", text)


class SlackOutput(RecordingOutput, SlackBot):
    """Posts without `as_user`, as one message per reply, with Block Kit buttons. With an escalation
    channel, a reply that did not answer (fallback) also offers to pass the question on to the team."""

    def __init__(self, token: Text, slack_channel: Optional[Text] = None, thread_id: Optional[Text] = None,
                 proxy: Optional[Text] = None, api_url: str = "https://slack.com/api/",
                 escalate_with: Optional[Callable[[str], str]] = None, question: str = "") -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        self.client = AsyncWebClient(token, base_url=api_url, proxy=proxy)
        self.escalate_with, self.question = escalate_with, question  # escalate_with(language) -> button title

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._post_message(channel=self.slack_channel or recipient_id, text=to_mrkdwn(text.strip()))

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        text = to_mrkdwn(text.strip())
        if self.escalate_with and self.question and self.turn and self.turn.kind is ReplyKind.FALLBACK:
            buttons = [*buttons, {"title": self.escalate_with(self.language),
                                  "payload": ESCALATE_PREFIX + self.question[:MAX_ESCALATED_CHARS]}]
        blocks: List[Dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        for start in range(0, min(len(buttons), BUTTONS_PER_BLOCK * MAX_BUTTON_BLOCKS), BUTTONS_PER_BLOCK):
            blocks.append({"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": b["title"][:BUTTON_TEXT_CHARS]},
                 "value": b["payload"], "action_id": f"faq_{start + i}"}
                for i, b in enumerate(buttons[start:start + BUTTONS_PER_BLOCK])]})
        await self._post_message(channel=self.slack_channel or recipient_id, text=text, blocks=blocks)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        json_message.pop("as_user", None)
        await self._post_message(channel=json_message.pop("channel", self.slack_channel or recipient_id),
                                 **json_message)


class HardenedSlackInput(FaqChannel, SlackInput):
    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls.from_settings(credentials)

    @classmethod
    def from_settings(cls, credentials: Optional[Dict[Text, Any]] = None,
                      config: Optional[Settings] = None) -> "HardenedSlackInput":
        channel = cls("", None, (credentials or {}).get("proxy"), "x-slack-retry-reason", "x-slack-retry-num",
                      None, True, "disabled", "thread")
        channel.configure(config)
        config = channel.settings
        channel.slack_token, channel.slack_channel = config.slack_token or "", config.slack_channel
        channel.slack_signing_secret = config.slack_signing_secret or "disabled"
        channel.seen_events = OrderedDict()
        channel.shared_seen = shared_event_ids(config)
        channel.locales = {}
        log.info("Slack: %s", "enabled" if config.slack_enabled else
                 "disabled (set SLACK_TOKEN and SLACK_SIGNING_SECRET to enable)")
        return channel

    def get_output_channel(self, channel: Optional[Text] = None, thread_id: Optional[Text] = None,
                           question: str = "") -> SlackOutput:
        escalate = (lambda language: self.content.get().message("escalate_button", language)) \
            if self.settings.slack_escalation_channel else None
        return SlackOutput(self.slack_token, channel or self.slack_channel, thread_id, self.proxy,
                           self.settings.slack_api_url, escalate, question)

    async def locale(self, user: str) -> Optional[str]:
        """The Slack user's locale (e.g. fr-FR), for the reply language; None when Slack does not say."""
        cached = self.locales.get(user)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        try:
            info = await AsyncWebClient(self.slack_token, base_url=self.settings.slack_api_url).users_info(
                user=user, include_locale=True)
            profile = info.get("user") or {}
            found = profile.get("locale") if isinstance(profile, dict) else None
        except Exception as exc:  # noqa: BLE001 - missing scope, network: answer in the detected language
            log.info("slack: no locale for a user (%s)", type(exc).__name__)
            found = None
        self.locales[user] = (found, time.monotonic() + LOCALE_CACHE_S)
        return found

    async def escalate(self, question: str, user: str, channel: Optional[str], message_ts: Optional[str],
                       thread_ts: Optional[str]) -> None:
        """Posts a question the assistant could not answer to the staff channel, with a link to the thread."""
        client = AsyncWebClient(self.slack_token, base_url=self.settings.slack_api_url)
        link = ""
        if channel and message_ts:
            try:
                link = (await client.chat_getPermalink(channel=channel, message_ts=message_ts)).get("permalink", "")
            except Exception as exc:  # noqa: BLE001 - post the question even without a link
                log.warning("slack: no permalink for an escalated question (%s)", type(exc).__name__)
        text = f"<@{user}> asked a question the assistant could not answer:\n{quoted(question)}" + \
            (f"\n<{link}|Open the conversation>" if link else "")
        await client.chat_postMessage(channel=self.settings.slack_escalation_channel or "", text=text)
        output = self.get_output_channel(channel, thread_ts)
        await output.send_text_message(channel or user, self.content.get().message(
            "escalated", await self.language_for(user)))

    async def language_for(self, user: str) -> str:
        return guess_language("", await self.locale(user))

    def _first_time(self, event_id: Optional[str]) -> bool:
        """False if this event was handled already (Slack retries deliver it again)."""
        if not event_id:
            return True
        if self.shared_seen is not None:
            import redis
            try:
                return bool(self.shared_seen.set(SEEN_EVENT_KEY + event_id, 1, nx=True, ex=SEEN_EVENT_TTL_S))
            except redis.RedisError as exc:  # keep answering; duplicates across replicas become possible
                log.warning("Slack event dedup: Redis unavailable (%s); using this replica's memory", exc)
        if event_id in self.seen_events:
            return False
        self.seen_events[event_id] = time.time()
        while len(self.seen_events) > SEEN_EVENTS:
            self.seen_events.popitem(last=False)
        return True

    async def _answer(self, on_new_message, text: str, user: str, channel: Optional[str],
                      thread_ts: Optional[str], users: List[str]) -> None:
        if not channel:
            log.warning("slack: ignored a message without a channel to answer in")
            return
        sender = self._get_conversation_id(user, channel, thread_ts)
        if sender_problem(sender):
            log.warning("slack: ignored a message from an unusable user id")
            return
        locale = await self.locale(user)
        metadata = {"out_channel": channel, "thread_id": thread_ts, "users": users,
                    **({"language": locale} if locale else {})}
        output = self.get_output_channel(channel, thread_ts, question=text)
        if await self.handle_text(on_new_message, text, sender, output, metadata):
            await self.send_refusal(output, channel)

    seen_events: "OrderedDict[str, float]"
    locales: Dict[str, Tuple[Optional[str], float]]

    def _in_background(self, coroutine: Coroutine[Any, Any, None]) -> None:
        # Slack wants an answer within 3 s; the reply goes out through the Web API.
        task = asyncio.create_task(coroutine)
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("slack_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request):
            return response.json({"status": "ok" if self.settings.slack_enabled else "disabled"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request):
            self.bind(request.app)
            if not self.settings.slack_enabled:
                return response.text("Slack is not configured on this server", status=HTTPStatus.SERVICE_UNAVAILABLE)
            if not self.is_request_from_slack_authentic(request):
                return response.text("invalid or stale X-Slack-Signature", status=HTTPStatus.UNAUTHORIZED)
            media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
            try:
                if media_type == "application/json":
                    return self._event(json.loads(request.body), on_new_message)
                if media_type == "application/x-www-form-urlencoded":
                    form = parse_qs(request.body.decode("utf-8"))
                    return self._interaction(json.loads(form["payload"][0]), on_new_message)
            except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError) as exc:
                log.warning("slack: malformed request: %s", exc)
                return response.text("malformed Slack payload", status=HTTPStatus.BAD_REQUEST)
            return response.text("unsupported content type", status=HTTPStatus.UNSUPPORTED_MEDIA_TYPE)

        return webhook

    def _event(self, body: Dict[str, Any], on_new_message):
        if not isinstance(body, dict):
            raise ValueError("body is not an object")
        if body.get("type") == "url_verification":
            return response.json({"challenge": body["challenge"]})
        if not self._first_time(body.get("event_id")):
            log.info("slack: ignored a retry of event %s", body.get("event_id"))
            return response.text("", headers={"X-Slack-No-Retry": "1"})
        event = body.get("event")
        if not isinstance(event, dict) or not self._is_user_message(body):
            return response.text("not a user message")
        channel = event.get("channel")
        if not self._is_supported_channel(body, {"out_channel": channel}):
            return response.text("channel not supported")
        users = body.get("authed_users") or [a.get("user_id") for a in body.get("authorizations") or []][:1]
        text = self._sanitize_user_message(event["text"], users)
        self._in_background(self._answer(on_new_message, text, event.get("user", ""), channel,
                                         event.get("thread_ts"), users))
        return response.text("")

    def _interaction(self, payload: Dict[str, Any], on_new_message):
        if not self._is_interactive_message(payload):
            return response.text("ignored")
        action = payload["actions"][0]
        value = self._get_interactive_response(action)
        if value is None:
            return response.text("ignored")
        if not self._first_time(payload.get("trigger_id") or action.get("action_ts")):
            return response.text("", headers={"X-Slack-No-Retry": "1"})
        message = payload.get("message") or {}
        user = payload["user"]["id"]
        channel = (payload.get("channel") or {}).get("id")
        if value.startswith(ESCALATE_PREFIX):
            if self.settings.slack_escalation_channel:
                self._in_background(self.escalate(value[len(ESCALATE_PREFIX):], user, channel, message.get("ts"),
                                                  message.get("thread_ts")))
            return response.text("")
        self._in_background(self._answer(on_new_message, value, user, channel, message.get("thread_ts"), [user]))
        return response.text("")

"""socket.io channel for the website widget, fixed and hardened.

Stock SocketIOInput (Rasa 3.6.21):
- calls `sio.enter_room(...)` without `await`; with python-socketio >= 5.10 that is a coroutine, so with
  `session_persistence: true` the socket never joins its session room and every reply is lost (rasa#13027);
- builds `AsyncServer(cors_allowed_origins=[])`, which turns origin checking off: any site may connect;
- lets any socket `session_request` any session id and then receive that visitor's replies, and send as any
  session id in each message;
- passes any payload on: a non-dict event crashes the handler, and text is not screened (see screening.py);
- splits replies on blank lines, breaking Markdown lists into separate bubbles.
Here session ids are issued by the server and signed (bot/channels/signing.py): a `session_request` with an
id we did not issue gets a new one; each socket may only send as the session it joined, whatever a message
says; a configured `jwt_key` (which stock Rasa would check, and this channel does not) stops the start-up
rather than being silently ignored. Allowed origins come from `WEB_ORIGINS` (bot/settings.py), by default
the demo page's own origin. Text goes through bot/channels/base.py.
"""
from __future__ import annotations

import inspect
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from socketio import AsyncServer

from bot.channels.base import FaqChannel, RecordingOutput
from bot.channels.screening import BadMetadata, clean_metadata
from bot.protocol import REPLY_LANGUAGE_KEY

log = logging.getLogger(__name__)
SESSION_KEY = "session_id"  # in python-socketio's per-socket session: the conversation this socket joined
CLIENT_KEY = "client"  # the address the socket connected from, for the per-client limit


class UnsupportedSetting(ValueError):
    pass


class WholeMessageOutput(RecordingOutput, SocketIOOutput):
    """Sends each reply as one message so Markdown (lists, paragraphs) stays together."""

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"text": text.strip(), REPLY_LANGUAGE_KEY: self.language})

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        quick_replies = [{"content_type": "text", "title": b["title"], "payload": b["payload"]} for b in buttons]
        await self._send_message(recipient_id, {"text": text.strip(), "quick_replies": quick_replies,
                                                REPLY_LANGUAGE_KEY: self.language})


class HardenedSocketIOInput(FaqChannel, SocketIOInput):
    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        if credentials.get("jwt_key"):
            raise UnsupportedSetting("credentials.yml: the socket.io channel does not check `jwt_key`; remove it "
                                     "(sessions are server-issued and signed with SECRET_KEY instead)")
        return cls(credentials.get("user_message_evt", "user_uttered"),
                   credentials.get("bot_message_evt", "bot_uttered"),
                   credentials.get("namespace"), credentials.get("session_persistence", True),
                   credentials.get("socketio_path", "/socket.io"), credentials.get("jwt_key"),
                   credentials.get("jwt_method", "HS256"), credentials.get("metadata_key", "metadata"))

    def get_output_channel(self):
        return WholeMessageOutput(self.sio, self.bot_message_evt) if self.sio else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        origins = list(self.settings.allowed_origins)
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=origins,
                          max_http_buffer_size=self.settings.max_request_bytes)
        blueprint = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        log.info("socket.io: accepting connections from origins %s", origins)

        @blueprint.route("/", methods=["GET"])
        async def health(_):
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict]) -> bool:
            request = environ.get("sanic.request")
            if request is not None:
                self.bind(request.app)
            client = (request.remote_addr or request.ip) if request is not None else None
            await sio.save_session(sid, {CLIENT_KEY: client}, namespace=self.namespace)
            return True

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Any = None) -> None:
            state = await sio.get_session(sid, namespace=self.namespace)
            if state.get(SESSION_KEY):
                log.warning("socket.io: ignored a second session_request on one socket")
                session_id = state[SESSION_KEY]
            elif not self.session_persistence:
                session_id = sid
            else:
                requested = data.get("session_id") if isinstance(data, dict) else None
                session_id = requested if self.signer.is_session_id(requested) else self.signer.new_session_id()
            joined = sio.enter_room(sid, self.conversation_id(session_id), namespace=self.namespace)
            if inspect.isawaitable(joined):  # a coroutine from python-socketio 5.10 on (rasa#13027)
                await joined
            await sio.save_session(sid, {**state, SESSION_KEY: session_id}, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Any = None) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message", ""), str):
                log.warning("socket.io: ignored a malformed message event")
                return
            state = await sio.get_session(sid, namespace=self.namespace)
            session_id = state.get(SESSION_KEY)
            if not session_id:
                log.warning("socket.io: ignored a message from a socket that has no session (send session_request)")
                return
            if data.get("session_id") not in (None, session_id):
                log.warning("socket.io: ignored a message for a session this socket did not join")
                return
            try:
                metadata = clean_metadata(data.get(self.metadata_key), self.settings.max_metadata_bytes)
            except BadMetadata:
                metadata = {}
            output = WholeMessageOutput(sio, self.bot_message_evt)
            refused = await self.handle_text(on_new_message, data.get("message", ""), session_id, output, metadata,
                                             client=state.get(CLIENT_KEY))
            if refused:
                await self.send_refusal(output, self.conversation_id(session_id))

        return blueprint

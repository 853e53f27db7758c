"""socket.io channel for the website widget, fixed and hardened.

Stock SocketIOInput (Rasa 3.6.21):
- calls `sio.enter_room(...)` without `await`; with python-socketio >= 5.10 that is a coroutine, so with
  `session_persistence: true` the socket never joins its session room and every reply is lost (rasa#13027);
- builds `AsyncServer(cors_allowed_origins=[])`, which turns origin checking off: any site may connect;
- passes any payload on: a non-dict event crashes the handler, and text is not screened (see screening.py);
- splits replies on blank lines, breaking Markdown lists into separate bubbles.
Configured in credentials.yml as `bot.channels.socketio.HardenedSocketIOInput`; allowed origins come from
`WEB_ORIGINS` (bot/settings.py), by default the demo page's own origin. Text goes through bot/channels/base.py.
"""
from __future__ import annotations

import inspect
import logging
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from socketio import AsyncServer

from bot.channels.base import FaqChannel, RecordingOutput

log = logging.getLogger(__name__)
MAX_SESSION_ID_CHARS = 256


class WholeMessageOutput(RecordingOutput, SocketIOOutput):
    """Sends each reply as one message so Markdown (lists, paragraphs) stays together."""

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"text": text.strip()})

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        quick_replies = [{"content_type": "text", "title": b["title"], "payload": b["payload"]} for b in buttons]
        await self._send_message(recipient_id, {"text": text.strip(), "quick_replies": quick_replies})


class HardenedSocketIOInput(FaqChannel, SocketIOInput):
    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(credentials.get("user_message_evt", "user_uttered"),
                   credentials.get("bot_message_evt", "bot_uttered"),
                   credentials.get("namespace"), credentials.get("session_persistence", True),
                   credentials.get("socketio_path", "/socket.io"), credentials.get("jwt_key"),
                   credentials.get("jwt_method", "HS256"), credentials.get("metadata_key", "metadata"))

    def get_output_channel(self):
        return WholeMessageOutput(self.sio, self.bot_message_evt) if self.sio else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        origins = list(self.settings.allowed_origins)
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=origins)
        blueprint = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        log.info("socket.io: accepting connections from origins %s", origins)

        @blueprint.route("/", methods=["GET"])
        async def health(_):
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict]) -> bool:
            return True

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Any) -> None:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            if not isinstance(session_id, str) or not session_id or len(session_id) > MAX_SESSION_ID_CHARS:
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                joined = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(joined):  # a coroutine from python-socketio 5.10 on (rasa#13027)
                    await joined
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Any) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message", ""), str):
                log.warning("socket.io: ignored a malformed message event from %s", sid)
                return
            session_id = data.get("session_id")
            if self.session_persistence:
                if not isinstance(session_id, str) or not session_id or len(session_id) > MAX_SESSION_ID_CHARS:
                    log.warning("socket.io: ignored a message without a valid session_id from %s", sid)
                    return
                sender = session_id
            else:
                sender = sid
            metadata = data.get(self.metadata_key)
            await self.handle_text(on_new_message, data.get("message", ""), sender,
                                   WholeMessageOutput(sio, self.bot_message_evt),
                                   metadata if isinstance(metadata, dict) else None)

        return blueprint

"""REST channel: malformed requests get HTTP 400, limits HTTP 429; text goes through bot/channels/base.py.

Stock RestInput answers 500 to a JSON array or a body nested 1,000 deep, puts requests without `sender`
into one shared "default" conversation, passes any sender id to the database (a lone surrogate in it
stopped the whole server: Rasa treats the resulting ValueError as fatal), stores client metadata of any
size, and lets `/intent{...}` text bypass NLU. Configured in credentials.yml as
`bot.channels.rest.HardenedRestInput`.
"""
from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Dict, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.base import FaqChannel, RecordingOutput
from bot.channels.screening import BadMetadata, clean_metadata, sender_problem
from bot.protocol import REPLY_LANGUAGE_KEY
from bot.settings import Settings


class BadRequest(ValueError):
    pass


def parse_body(raw: bytes, max_metadata_bytes: int = Settings().max_metadata_bytes) -> Dict[str, Any]:
    """The validated request body: {"sender": str, "message": str, "metadata": {language?, page?}}."""
    try:
        body = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest('the body must be JSON: {"sender": "<conversation id>", "message": "<text>"}') from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object with 'sender' and 'message'")
    sender, message = body.get("sender"), body.get("message")
    problem = sender_problem(sender)
    if problem:
        raise BadRequest(f"'sender' is required and {problem}")
    if not isinstance(message, str):
        raise BadRequest("'message' is required and must be a string")
    try:
        metadata = clean_metadata(body.get("metadata"), max_metadata_bytes)
    except BadMetadata as exc:
        raise BadRequest(str(exc)) from None
    return {"sender": sender, "message": message, "metadata": metadata}


class RecordingCollector(RecordingOutput, CollectingOutputChannel):
    async def _persist_message(self, message: Dict[str, Any]) -> None:
        await super()._persist_message({**message, REPLY_LANGUAGE_KEY: self.language})


class HardenedRestInput(FaqChannel):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            self.bind(request.app)
            try:
                body = parse_body(request.body, self.settings.max_metadata_bytes)
            except BadRequest as exc:
                return response.json({"error": str(exc)}, status=400)
            collector = RecordingCollector()
            refused = await self.handle_text(on_new_message, body["message"], body["sender"], collector,
                                             body["metadata"], client=request.remote_addr or request.ip)
            if refused:
                return response.json({"error": refused.reason, "retry_after": refused.retry_after}, status=429,
                                     headers={"Retry-After": str(refused.retry_after)})
            # Rasa addressed the replies to the namespaced conversation id; the caller knows its own id.
            return response.json([{**m, "recipient_id": body["sender"]} for m in collector.messages])

        return webhook

"""REST channel that rejects malformed requests with HTTP 400; text goes through bot/channels/base.py.

Stock RestInput answers 500 to a JSON array, puts requests without `sender` into one shared "default"
conversation, and lets `/intent{...}` text bypass NLU. Configured in credentials.yml as
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

MAX_SENDER_CHARS = 256


class BadRequest(ValueError):
    pass


def parse_body(raw: bytes) -> Dict[str, Any]:
    """The validated request body: {"sender": str, "message": str, "metadata": dict | None}."""
    try:
        body = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest('the body must be JSON: {"sender": "<conversation id>", "message": "<text>"}') from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object with 'sender' and 'message'")
    sender, message, metadata = body.get("sender"), body.get("message"), body.get("metadata")
    if not isinstance(sender, str) or not sender.strip():
        raise BadRequest("'sender' is required and must be a non-empty string (one id per conversation)")
    if len(sender) > MAX_SENDER_CHARS:
        raise BadRequest(f"'sender' must be at most {MAX_SENDER_CHARS} characters")
    if not isinstance(message, str):
        raise BadRequest("'message' is required and must be a string")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest("'metadata' must be a JSON object when given")
    return {"sender": sender, "message": message, "metadata": metadata}


class RecordingCollector(RecordingOutput, CollectingOutputChannel):
    pass


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
            try:
                body = parse_body(request.body)
            except BadRequest as exc:
                return response.json({"error": str(exc)}, status=400)
            collector = RecordingCollector()
            await self.handle_text(on_new_message, body["message"], body["sender"], collector, body["metadata"])
            return response.json(collector.messages)

        return webhook

"""Property-based fuzzing (hypothesis) of the REST and socket.io input handling and the content loader:
arbitrary unicode, control characters, RTL text, emoji, huge numbers, nested JSON."""
from __future__ import annotations

import json
import shutil
import uuid

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answers.content_store import CONTENT_DIR, ContentError, load_content
from bot.channels.screening import WORD_JOINER, screen
from bot.settings import Settings
from tests.support import page_origin, socketio_client

CONTENT = load_content()
SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**40, max_value=10**40) | st.floats(allow_nan=False)
    | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)
tricky_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300),
    st.sampled_from(["مرحبا، متى تأسس المكتب؟", "שלום \u202eevil\u202c", "🇪🇺🤖💬" * 20, "\x00\x01\x1b[31m",
                     "/ask_history{\"subject\": \"eurcap\"}", "\u2060/greet", "{" * 500, "a\r\nb\tc" * 50,
                     "SELECT * FROM events; --", "<script>alert(1)</script>", "9" * 5000]),
)


def well_formed(reply, sender):
    assert isinstance(reply, list) and reply
    for message in reply:
        assert message["recipient_id"] == sender
        assert isinstance(message.get("text"), str) and message["text"].strip()


@settings(max_examples=150, **SETTINGS)
@given(text=tricky_text)
def test_rest_any_text_gets_a_well_formed_reply(bot, text):
    sender = f"fuzz-{uuid.uuid4().hex[:8]}"
    response = bot.session.post(bot.webhook, json={"sender": sender, "message": text}, timeout=30)
    assert response.status_code == 200, response.text
    well_formed(response.json(), sender)


@settings(max_examples=150, **SETTINGS)
@given(body=json_values)
def test_rest_any_json_body_is_answered_or_refused_with_400(bot, body):
    response = bot.session.post(bot.webhook, data=json.dumps(body), timeout=30,
                                headers={"Content-Type": "application/json"})
    if isinstance(body, dict) and isinstance(body.get("sender"), str) and body["sender"].strip() \
            and len(body["sender"]) <= 256 and isinstance(body.get("message"), str) \
            and (body.get("metadata") is None or isinstance(body.get("metadata"), dict)):
        assert response.status_code == 200
        well_formed(response.json(), body["sender"])
    else:
        assert response.status_code == 400 and response.json()["error"]


@settings(max_examples=100, **SETTINGS)
@given(raw=st.binary(max_size=2000))
def test_rest_any_bytes_never_500(bot, raw):
    response = bot.session.post(bot.webhook, data=raw, timeout=30, headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 400)


@settings(max_examples=500, **SETTINGS)
@given(text=tricky_text)
def test_screen_always_decides(text):
    result = screen(text, CONTENT, Settings().max_message_chars)
    assert (result.text is None) != (result.reply is None)
    if result.text is not None:
        assert not result.text.strip().startswith("/") or result.text.strip() in CONTENT.payloads \
            or result.text.strip() == "/greet"
        assert result.text in (text, WORD_JOINER + text.strip())


def test_socketio_any_payload_keeps_the_server_answering(bot):
    with socketio_client(bot.base_url, page_origin(bot.env)) as (sio, _, wait_for):
        session_id = uuid.uuid4().hex
        sio.emit("session_request", {"session_id": session_id})
        sent = 0

        @settings(max_examples=80, **SETTINGS)
        @given(payload=json_values, text=tricky_text)
        def round_trip(payload, text):
            nonlocal sent
            sio.emit("session_request", payload)  # malformed events: ignored, no crash
            sio.emit("user_uttered", payload)
            sio.emit("user_uttered", {"message": text, "session_id": session_id, "metadata": payload})
            sent += 1
            wait_for(sent, timeout=30)  # every well-formed message gets one reply

        round_trip()
        replies = wait_for(sent)
        assert len(replies) == sent
        assert all(isinstance(r.get("text"), str) and r["text"].strip() for r in replies)
        sio.emit("user_uttered", {"message": "What is IOM?", "session_id": session_id})
        assert "1951" in wait_for(sent + 1)[-1]["text"]
        print(f"\nsocket.io: {sent} fuzz rounds (3 events each), {len(replies)} replies, all well-formed")


@settings(max_examples=300, **SETTINGS)
@given(data=json_values, target=st.sampled_from(["iom.yml", "messages.yml", "extra.yml"]))
def test_content_loader_rejects_garbage_with_content_error(tmp_path_factory, data, target):
    directory = tmp_path_factory.mktemp("content")
    shutil.copytree(CONTENT_DIR, directory, dirs_exist_ok=True)
    (directory / target).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    try:
        load_content(directory)
    except ContentError as exc:
        assert exc.file and str(exc)


@settings(max_examples=200, **SETTINGS)
@given(raw=st.binary(max_size=500))
def test_content_loader_rejects_any_bytes_with_content_error(tmp_path_factory, raw):
    directory = tmp_path_factory.mktemp("content")
    shutil.copytree(CONTENT_DIR, directory, dirs_exist_ok=True)
    (directory / "partners.yml").write_bytes(raw)
    with pytest.raises(ContentError):
        load_content(directory)

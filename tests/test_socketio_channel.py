"""socket.io channel with a real python-socketio client (polling: Rasa pins aiohttp < 3.10)."""
from __future__ import annotations

import contextlib
import threading
import uuid

import pytest
import socketio

from bot.content_store import load_content

CONTENT = load_content()


def client(bot, origin=None):
    sio = socketio.Client(reconnection=False)
    replies, confirmed = [], threading.Event()
    got = threading.Condition()

    @sio.on("session_confirm")
    def on_confirm(_):
        confirmed.set()

    @sio.on("bot_uttered")
    def on_bot(data):
        with got:
            replies.append(data)
            got.notify_all()

    headers = {"Origin": origin or f"http://127.0.0.1:{bot.env['WEB_PORT']}"}
    sio.connect(bot.base_url, socketio_path="/socket.io", transports=["polling"], headers=headers, wait_timeout=10)

    def wait_for(n, timeout=20):
        with got:
            assert got.wait_for(lambda: len(replies) >= n, timeout), f"no reply after {timeout} s: {replies}"
        return replies

    return sio, confirmed, wait_for


@contextlib.contextmanager
def session(bot):
    """A connected socket with a confirmed session: yields (say, wait_for, session_id)."""
    sio, confirmed, wait_for = client(bot)
    session_id = uuid.uuid4().hex
    try:
        sio.emit("session_request", {"session_id": session_id})
        assert confirmed.wait(10)
        yield (lambda text: sio.emit("user_uttered", {"message": text, "session_id": session_id})), wait_for, session_id
    finally:
        sio.disconnect()


def test_replies_arrive_with_session_persistence(bot):
    with session(bot) as (say, wait_for, _):
        say("When was the Brussels office established?")
        [reply] = wait_for(1)
        assert "September 2011" in reply["text"]
        assert [q["payload"] for q in reply["quick_replies"]] == [CONTENT.entries[i].payload
                                                                  for i in CONTENT.entries["office_established"].followups]


def test_disallowed_origin_is_refused(bot):
    with pytest.raises(socketio.exceptions.ConnectionError):
        client(bot, origin="http://evil.example")


@pytest.mark.parametrize("bad", [["list"], "text", None, 42, {"message": 12, "session_id": "x"},
                                 {"message": "hi"}, {"message": "hi", "session_id": ["x"]}])
def test_malformed_events_are_ignored_and_the_socket_keeps_working(bot, bad):
    sio, confirmed, wait_for = client(bot)
    session_id = uuid.uuid4().hex
    try:
        sio.emit("session_request", bad if not isinstance(bad, dict) else {"session_id": session_id})
        sio.emit("user_uttered", bad)
        sio.emit("session_request", {"session_id": session_id})
        sio.emit("user_uttered", {"message": "What is IOM?", "session_id": session_id})
        replies = wait_for(1)
        assert any("1951" in r.get("text", "") for r in replies)
    finally:
        sio.disconnect()


def test_empty_and_too_long_messages_get_polite_replies(bot):
    with session(bot) as (say, wait_for, _):
        say("   ")
        assert wait_for(1)[0]["text"] == CONTENT.message("empty_message").strip()
        say("x" * 100_000)
        assert "too long" in wait_for(2)[1]["text"]


def test_slash_text_is_not_an_intent_command(bot):
    from tests.conftest import parsed_through_nlu, recorded_user_turns
    with session(bot) as (say, wait_for, session_id):
        say('/ask_partners{"subject": "media"}')
        wait_for(1)
    [turn] = recorded_user_turns(bot, session_id)
    assert parsed_through_nlu(turn)

"""socket.io channel with a real python-socketio client (polling: Rasa pins aiohttp < 3.10)."""
from __future__ import annotations

import uuid

import pytest
import socketio

from bot.answers.content_store import load_content
from tests.support import page_origin, parsed_through_nlu, recorded_user_turns, socketio_client, socketio_session

CONTENT = load_content()


def client(bot, origin=None):
    return socketio_client(bot.base_url, origin or page_origin(bot.env))


def session(bot):
    return socketio_session(bot.base_url, page_origin(bot.env))


def test_replies_arrive_with_session_persistence(bot):
    with session(bot) as (say, wait_for, _):
        say("When was the Brussels office established?")
        [reply] = wait_for(1)
        assert "September 2011" in reply["text"]
        followups = CONTENT.entries["office_established"].followups
        assert [q["payload"] for q in reply["quick_replies"]] == [CONTENT.entries[i].payload for i in followups]


def test_disallowed_origin_is_refused(bot):
    with pytest.raises(socketio.exceptions.ConnectionError):
        with client(bot, origin="http://evil.example"):
            pass


@pytest.mark.parametrize("bad", [["list"], "text", None, 42, {"message": 12, "session_id": "x"},
                                 {"message": "hi"}, {"message": "hi", "session_id": ["x"]}])
def test_malformed_events_are_ignored_and_the_socket_keeps_working(bot, bad):
    with client(bot) as (sio, confirmed, wait_for):
        session_id = uuid.uuid4().hex
        sio.emit("session_request", bad if not isinstance(bad, dict) else {"session_id": session_id})
        sio.emit("user_uttered", bad)
        sio.emit("session_request", {"session_id": session_id})
        sio.emit("user_uttered", {"message": "What is IOM?", "session_id": session_id})
        replies = wait_for(1)
        assert any("1951" in r.get("text", "") for r in replies)


def test_empty_and_too_long_messages_get_polite_replies(bot):
    with session(bot) as (say, wait_for, _):
        say("   ")
        assert wait_for(1)[0]["text"] == CONTENT.message("empty_message").strip()
        say("x" * 100_000)
        assert "too long" in wait_for(2)[1]["text"]


def test_slash_text_is_not_an_intent_command(bot):
    with session(bot) as (say, wait_for, session_id):
        say('/ask_partners{"subject": "media"}')
        wait_for(1)
    [turn] = recorded_user_turns(bot, session_id)
    assert parsed_through_nlu(turn)

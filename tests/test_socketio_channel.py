"""socket.io channel with a real python-socketio client (polling: Rasa pins aiohttp < 3.10)."""
from __future__ import annotations

import pytest
import socketio

from bot.answers import feedback
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
        assert [q["payload"] for q in reply["quick_replies"]] == [
            *(CONTENT.entries[i].payload for i in followups),
            *(feedback.payload("office_established", rating) for rating in feedback.RATINGS)]  # then 👍 / 👎


def test_disallowed_origin_is_refused(bot):
    with pytest.raises(socketio.exceptions.ConnectionError):
        with client(bot, origin="http://evil.example"):
            pass


@pytest.mark.parametrize("bad", [["list"], "text", None, 42, {"message": 12, "session_id": "x"},
                                 {"message": "hi", "session_id": "forged"}, {"message": "hi", "session_id": ["x"]}])
def test_malformed_events_are_ignored_and_the_socket_keeps_working(bot, bad):
    with client(bot) as (sio, confirmed, wait_for):
        sio.emit("session_request", bad)  # not a usable request: the socket still gets a new session
        assert confirmed.wait(10) and confirmed.session_id
        sio.emit("user_uttered", bad)  # ignored: malformed, or for a session this socket did not join
        sio.emit("user_uttered", {"message": "What is IOM?", "session_id": confirmed.session_id})
        replies = wait_for(1)
        assert len(replies) == 1 and "1951" in replies[0]["text"]


def test_empty_and_too_long_messages_get_polite_replies(bot):
    with session(bot) as (say, wait_for, _):
        say("   ")
        assert wait_for(1)[0]["text"] == CONTENT.message("empty_message", "en").strip()
        say("x" * 10_000)  # over MAX_MESSAGE_CHARS, under the request size cap
        assert "too long" in wait_for(2)[1]["text"]


def test_slash_text_is_not_an_intent_command(bot):
    with session(bot) as (say, wait_for, session_id):
        say('/ask_partners{"subject": "media"}')
        wait_for(1)
    [turn] = recorded_user_turns(bot, f"socketio:{session_id}")
    assert parsed_through_nlu(turn)


def test_a_session_the_server_issued_is_resumed_after_a_reload(bot):
    with session(bot) as (say, wait_for, session_id):
        say("When was the Brussels office established?")
        assert "2011" in wait_for(1)[0]["text"]
    with socketio_session(bot.base_url, page_origin(bot.env), resume=session_id) as (say, wait_for, resumed):
        assert resumed == session_id
        say("why then?")  # the conversation's context survived the reconnection
        assert "Lisbon" in wait_for(1)[0]["text"]


def test_a_message_over_the_request_size_cap_is_refused_and_the_server_keeps_answering(bot):
    with session(bot) as (say, _, _):
        say("x" * 100_000)  # the polling request is refused (413); the socket drops
    with session(bot) as (say, wait_for, _):
        say("What is IOM?")
        assert "1951" in wait_for(1)[0]["text"]
    assert bot.rasa.poll() is None

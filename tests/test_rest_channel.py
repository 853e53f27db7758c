"""REST hardening: bad requests get HTTP 400, odd text gets a polite reply, never a 500 or a shared conversation."""
from __future__ import annotations

import json
import sqlite3
import time

import pytest

from bot.channels.guard import MAX_MESSAGE_CHARS, WORD_JOINER, screen
from bot.channels.rest import BadRequest, parse_body
from bot.content_store import load_content
from tests.conftest import new_sender, texts

CONTENT = load_content()


# ---------------------------------------------------------------------------------------------- unit

@pytest.mark.parametrize("raw", [b"", b"not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"null", b"42",
                                 b'{"message": "hi"}', b'{"sender": 7, "message": "hi"}',
                                 b'{"sender": "  ", "message": "hi"}', b'{"sender": "a", "message": 5}',
                                 b'{"sender": "a"}', b'{"sender": "a", "message": "hi", "metadata": []}'])
def test_parse_body_rejects(raw):
    with pytest.raises(BadRequest):
        parse_body(raw)


def test_screen():
    assert screen("   \n\t", CONTENT).reply == CONTENT.message("empty_message")
    long = screen("x" * (MAX_MESSAGE_CHARS + 1), CONTENT)
    assert long.reply and f"{MAX_MESSAGE_CHARS:,}" in long.reply
    assert screen("x" * MAX_MESSAGE_CHARS, CONTENT).text == "x" * MAX_MESSAGE_CHARS
    assert screen('/bot_challenge{"subject": "x"}', CONTENT).text == WORD_JOINER + '/bot_challenge{"subject": "x"}'
    payload = CONTENT.entries["prio_avrr"].payload
    assert screen(payload, CONTENT).text == payload


# ---------------------------------------------------------------------------------------------- live server

def post(bot, **kwargs):
    start = time.monotonic()
    response = bot.session.post(bot.webhook, timeout=10, **kwargs)
    return response, time.monotonic() - start


@pytest.mark.parametrize("kwargs", [
    {"data": b"not json", "headers": {"Content-Type": "application/json"}},
    {"json": ["a", "b"]},
    {"json": {"message": "When was the office established?"}},
    {"json": {"sender": 12345, "message": "hi"}},
    {"json": {"sender": "x", "message": None}},
    {"json": {"sender": "x" * 1000, "message": "hi"}},
])
def test_bad_requests_get_400_with_a_clear_message(bot, kwargs):
    response, elapsed = post(bot, **kwargs)
    assert response.status_code == 400
    assert "error" in response.json() and len(response.json()["error"]) > 10
    assert elapsed < 1


@pytest.mark.parametrize("message", ["", "   ", "\n\t "])
def test_empty_text_gets_a_polite_prompt(bot, message):
    sender = new_sender()
    response, elapsed = post(bot, json={"sender": sender, "message": message})
    assert response.status_code == 200 and elapsed < 1
    assert response.json() == [{"recipient_id": sender, "text": CONTENT.message("empty_message")}]


def test_too_long_text_is_refused_politely_without_nlu(bot):
    response, elapsed = post(bot, json={"sender": new_sender(), "message": "When was it founded? " * 5000})
    assert response.status_code == 200 and elapsed < 1
    assert "too long" in response.json()[0]["text"]


def recorded_user_turns(bot, sender):
    """The user events Rasa stored for `sender` (read from the SQLite tracker store)."""
    with sqlite3.connect(bot.env["TRACKER_DB"]) as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id",
                          (sender,)).fetchall()
    return [json.loads(row[0]) for row in rows]


@pytest.mark.parametrize("typed", ["/bot_challenge", '/ask_partners{"subject": "media"}', "/restart",
                                   '/ask_history@1.0{"subject": "eurcap"}'])
def test_slash_command_is_text_not_an_intent(bot, typed):
    sender = new_sender()
    assert texts(bot.ask(typed, sender))
    [turn] = recorded_user_turns(bot, sender)
    # Through NLU the ranking covers many intents; an intent command yields exactly one, at confidence 1.
    assert len(turn["parse_data"]["intent_ranking"]) > 1
    assert not [e for e in turn["parse_data"]["entities"] if e.get("extractor") == "RegexMessageHandler"]


def test_button_payload_is_honoured(bot):
    sender = new_sender()
    entry = CONTENT.entries["project_eurcap"]
    assert texts(bot.ask(entry.payload, sender)).strip() == entry.answer.strip()
    [turn] = recorded_user_turns(bot, sender)
    assert turn["parse_data"]["intent"] == {"name": "ask_projects", "confidence": 1.0}


def test_conversations_are_kept_apart_by_sender(bot):
    a, b = new_sender(), new_sender()
    bot.ask("What is IOM?", sender=a)
    bot.ask("Tell me about the Brussels office", sender=b)
    assert "1951" in texts(bot.ask("when was it founded?", sender=a))
    assert "2011" in texts(bot.ask("when was it founded?", sender=b))

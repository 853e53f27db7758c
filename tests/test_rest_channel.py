"""REST hardening: bad requests get HTTP 400, odd text gets a polite reply, never a 500 or a shared conversation."""
from __future__ import annotations

import time

import pytest

from bot.channels.guard import MAX_MESSAGE_CHARS, WORD_JOINER, screen
from bot.channels.rest import BadRequest, parse_body
from bot.content_store import load_content
from tests.conftest import new_sender, parsed_through_nlu, recorded_user_turns, texts

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


@pytest.mark.parametrize("typed", ["/bot_challenge", '/ask_partners{"subject": "media"}', "/restart",
                                   '/ask_history@1.0{"subject": "eurcap"}'])
def test_slash_command_is_text_not_an_intent(bot, typed):
    sender = new_sender()
    assert texts(bot.ask(typed, sender))
    [turn] = recorded_user_turns(bot, sender)
    assert parsed_through_nlu(turn)


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


def test_one_log_line_per_turn_with_hashed_sender_and_truncated_text(bot):
    from bot.channels.turns import hashed
    from tests.conftest import LOG_DIR
    sender = new_sender()
    bot.ask("When was the Brussels office established?" + " " * 1400, sender)
    deadline = time.monotonic() + 10
    lines = []
    while time.monotonic() < deadline and not lines:
        lines = [l for l in (LOG_DIR / "servers.log").read_text().splitlines() if f"sender={hashed(sender)}" in l]
        time.sleep(0.2)
    assert len(lines) == 1
    assert "intent=ask_history" in lines[0] and "entry=office_established" in lines[0]
    assert "latency_ms=" in lines[0] and "chars)" in lines[0]
    assert sender not in (LOG_DIR / "servers.log").read_text()

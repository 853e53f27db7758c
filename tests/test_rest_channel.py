"""REST hardening: bad requests get HTTP 400, odd text gets a polite reply, never a 500 or a shared conversation.

The channel's own behaviour is tested in-process (tests.support.ChannelApp: the channel mounted the way Rasa
mounts it, Rasa's turn replaced by FakeRasa); what needs the NLU and the action is tested on the live bot.
"""
from __future__ import annotations

import logging

import pytest

from bot.answers.content_store import load_content
from bot.channels.rest import BadRequest, HardenedRestInput, parse_body
from bot.channels.screening import WORD_JOINER, screen
from bot.channels.signing import Signer
from bot.settings import Settings
from tests.support import (
    LOG_DIR,
    ChannelApp,
    FakeRasa,
    log_lines,
    new_sender,
    parsed_through_nlu,
    recorded_user_turns,
    texts,
)

CONTENT = load_content()
SETTINGS = Settings()
LIMIT = SETTINGS.max_message_chars
WEBHOOK = "/webhooks/rest/webhook"


# ---------------------------------------------------------------------------------------------- unit

@pytest.mark.parametrize("raw", [b"", b"not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"null", b"42",
                                 b'{"message": "hi"}', b'{"sender": 7, "message": "hi"}',
                                 b'{"sender": "  ", "message": "hi"}', b'{"sender": "a", "message": 5}',
                                 b'{"sender": "a"}', b'{"sender": "a", "message": "hi", "metadata": []}'])
def test_parse_body_rejects(raw):
    with pytest.raises(BadRequest):
        parse_body(raw)


def test_screen():
    assert screen("   \n\t", CONTENT, LIMIT).reply == CONTENT.message("empty_message", "en")
    long = screen("x" * (LIMIT + 1), CONTENT, LIMIT)
    assert long.reply and f"{LIMIT:,}" in long.reply
    assert screen("x" * LIMIT, CONTENT, LIMIT).text == "x" * LIMIT
    command = '/bot_challenge{"subject": "x"}'
    assert screen(command, CONTENT, LIMIT).text == WORD_JOINER + command
    payload = CONTENT.entries["prio_avrr"].payload
    assert screen(payload, CONTENT, LIMIT).text == payload


# ---------------------------------------------------------------------------------------------- in-process

@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
def channel():
    return HardenedRestInput().configure(SETTINGS.replace(turn_timeout=0.5, client_messages_per_minute=0,
                                                          conversation_messages_per_minute=0))


@pytest.fixture
def app(rasa, channel):
    app = ChannelApp([channel], rasa)
    yield app
    app.close()


@pytest.mark.parametrize("kwargs", [
    {"content": b"not json", "headers": {"Content-Type": "application/json"}},
    {"json": ["a", "b"]},
    {"json": {"message": "When was the office established?"}},
    {"json": {"sender": 12345, "message": "hi"}},
    {"json": {"sender": "x", "message": None}},
    {"json": {"sender": "x" * 1000, "message": "hi"}},
])
def test_bad_requests_get_400_with_a_clear_message(app, rasa, kwargs):
    response = app.post(WEBHOOK, **kwargs)
    assert response.status_code == 400
    assert "error" in response.json() and len(response.json()["error"]) > 10
    assert rasa.received == []


@pytest.mark.parametrize("message", ["", "   ", "\n\t "])
def test_empty_text_gets_a_polite_prompt_without_a_turn(app, rasa, message):
    sender = new_sender()
    response = app.post(WEBHOOK, json={"sender": sender, "message": message})
    assert response.status_code == 200
    assert response.json() == [{"recipient_id": sender, "text": CONTENT.message("empty_message", "en"), "lang": "en"}]
    assert rasa.received == []


def test_too_long_text_is_refused_politely_without_a_turn(app, rasa):
    response = app.post(WEBHOOK, json={"sender": new_sender(), "message": "When was it founded? " * 5000})
    assert response.status_code == 200 and "too long" in response.json()[0]["text"]
    assert rasa.received == []


def test_a_turn_reaches_rasa_with_sender_channel_and_metadata(app, rasa):
    response = app.post(WEBHOOK, json={"sender": "visitor-1", "message": "hello", "metadata": {"page": "/"}})
    assert response.json() == [{"recipient_id": "visitor-1", "text": "echo: hello", "lang": "en"}]
    [message] = rasa.received
    assert (message.sender_id, message.input_channel, message.metadata) == ("rest:visitor-1", "rest", {"page": "/"})


def test_a_language_asked_for_before_the_question_travels_as_metadata_and_a_client_cannot_forge_it(app, rasa):
    app.post(WEBHOOK, json={"sender": "visitor-2", "message": "En français svp : qui sont les partenaires ?"})
    app.post(WEBHOOK, json={"sender": "visitor-3", "message": "who are the partners?",
                            "metadata": {"requested_language": "fr"}})
    first, second = rasa.received
    assert (first.text, first.metadata) == ("qui sont les partenaires ?", {"requested_language": "fr"})
    assert (second.text, second.metadata) == ("who are the partners?", {})


@pytest.mark.parametrize("behaviour", ["raise", "silent", "hang"])
def test_a_failed_turn_answers_try_again_and_logs_an_error(app, rasa, behaviour, caplog):
    rasa.behaviour = behaviour
    with caplog.at_level(logging.INFO, logger="iom.turns"):
        response = app.post(WEBHOOK, json={"sender": "visitor-2", "message": "What is IOM?"})
    assert response.status_code == 200
    assert texts(response.json()).strip() == CONTENT.message("try_again", "en").strip()
    assert "turn without an answer" in caplog.text and "reply=error" in caplog.text


def test_one_log_line_per_turn_with_hashed_sender_and_truncated_text(app, channel, caplog):
    sender = new_sender()
    with caplog.at_level(logging.INFO, logger="iom.turns"):
        app.post(WEBHOOK, json={"sender": sender, "message": "When was the Brussels office established?" + " " * 1400})
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("turn ")]
    assert f"sender={channel.hashed('rest:' + sender)}" in line and "channel=rest" in line
    assert "intent=ask_iom" in line and "entry=iom_about" in line and "reply=answer" in line
    assert "latency_ms=" in line and "chars)" in line
    assert sender not in caplog.text


# ---------------------------------------------------------------------------------------------- live server

@pytest.mark.parametrize("typed", ["/bot_challenge", '/ask_partners{"subject": "media"}', "/restart",
                                   '/ask_history@1.0{"subject": "eurcap"}'])
def test_slash_command_is_text_not_an_intent(bot, typed):
    sender = new_sender()
    assert texts(bot.ask(typed, sender))
    [turn] = recorded_user_turns(bot, f"rest:{sender}")
    assert parsed_through_nlu(turn)


def test_button_payload_is_honoured(bot):
    sender = new_sender()
    entry = CONTENT.entries["project_eurcap"]
    assert texts(bot.ask(entry.payload, sender)).strip() == entry.answer["en"].strip()
    [turn] = recorded_user_turns(bot, f"rest:{sender}")
    assert turn["parse_data"]["intent"] == {"name": "ask_projects", "confidence": 1.0}


def test_conversations_are_kept_apart_by_sender(bot):
    a, b = new_sender(), new_sender()
    bot.ask("What is IOM?", sender=a)
    bot.ask("Tell me about the Brussels office", sender=b)
    assert "1951" in texts(bot.ask("when was it founded?", sender=a))
    assert "2011" in texts(bot.ask("when was it founded?", sender=b))


def test_the_actions_turn_record_reaches_the_log_line(bot):
    """The action's decision crosses two processes (action server -> Rasa -> channel) into one log line."""
    sender = new_sender()
    bot.ask("When was the Brussels office established?", sender)
    hashed = Signer(bot.env["SECRET_KEY"]).log_hash(f"rest:{sender}")
    [line] = log_lines(LOG_DIR / "servers.log", f"turn sender={hashed}")
    assert "intent=ask_history" in line and "entry=office_established" in line and "reply=answer" in line
    assert sender not in (LOG_DIR / "servers.log").read_text()


@pytest.mark.parametrize("text,question", [
    ("thanks! is it part of the UN?", "is it part of the UN?"),
    ("Bonjour, quand le bureau a-t-il été créé ?", "quand le bureau a-t-il été créé ?"),
    ("ok merci ! et les syndicats ?", "et les syndicats ?"),
    ("Hi there! what is IOM?", "what is IOM?"),
    # kept whole: a courtesy alone, or followed by something that is not a question
    ("Thanks, bye", "Thanks, bye"), ("thanks for the info", "thanks for the info"), ("hello", "hello"),
    ("Merci, c'est très clair pour moi", "Merci, c'est très clair pour moi"),
    ("salut, ca va ?", "salut, ca va ?"),  # a greeting: its "?" is no third word of a question
])
def test_a_greeting_or_thanks_before_a_question_leaves_the_question(text, question):
    assert screen(text, CONTENT, LIMIT).text == question

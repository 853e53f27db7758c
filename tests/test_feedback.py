"""Feedback on answers, end to end: the real Rasa and action servers, through REST, socket.io (a
python-socketio client) and Slack (signed events and block_actions interactions to the real webhook, replies
on the local Slack Web API stand-in). What counts is what lands in the tracker store: one `feedback` slot
event per step, {entry, rating, reason, comment} (bot/answers/feedback.py).

The comments typed here are ones the NLU does not take for a question it can answer (fallback, out of
scope, or a refusal it would give), as a visitor's comment usually is; a question the bot understands is
answered instead.
"""
from __future__ import annotations

import json
import uuid
from typing import Dict, List, Optional

import pytest

from bot.answers import feedback
from bot.answers.content_store import load_content
from bot.channels.screening import allowed_command
from tests.support import (
    block_buttons,
    buttons,
    click_slack_button,
    new_sender,
    page_origin,
    parsed_through_nlu,
    recorded_user_turns,
    send_slack_event,
    slack_channel_id,
    socketio_session,
    stored_slot_values,
    texts,
)

CONTENT = load_content()
QUESTION, ENTRY = "When was the Brussels office established?", "office_established"
COMMENT = "too vague for my report"  # NLU: not a question it answers (a fallback or a refusal)
RATINGS_REPLY = {"up": CONTENT.message("feedback_thanks", "en").strip(),
                 "reasons": CONTENT.message("feedback_reasons", "en").strip(),
                 "comment": CONTENT.message("feedback_comment", "en").strip(),
                 "noted": CONTENT.message("feedback_comment_thanks", "en").strip()}


def step(rating: str, reason: Optional[str] = None, comment: Optional[str] = None, entry: str = ENTRY) -> Dict:
    return {"entry": entry, "rating": rating, "reason": reason, "comment": comment}


def feedback_payloads(offered: List[dict]) -> Dict[str, str]:
    """{"up": payload, "down": payload} of the 👍 / 👎 buttons among `offered`."""
    return {rating: b["payload"] for b in offered for rating in feedback.RATINGS
            if b["payload"] == feedback.payload(ENTRY, rating)}


def stored_feedback(bot, conversation: str, count: int) -> List[Dict]:
    return stored_slot_values(bot.env["TRACKER_DB"], conversation, feedback.FEEDBACK_SLOT, count)


# ---------------------------------------------------------------------------------------------- REST

def test_every_content_answer_carries_the_rating_buttons_and_other_replies_do_not(bot):
    for question, entry in [(QUESTION, ENTRY), ("What is IOM?", "iom_about"), ("Who are the partners?",
                                                                              "partners_overview")]:
        offered = buttons(bot.ask(question))
        rating = [b for b in offered if b["payload"].startswith("/feedback")]
        assert rating == [{"title": "👍 Helpful", "payload": feedback.payload(entry, "up")},
                          {"title": "👎 Not helpful", "payload": feedback.payload(entry, "down")}]
        assert offered[-2:] == rating  # after the follow-ups
        assert all(allowed_command(b["payload"], CONTENT) for b in rating)  # they pass screening as commands
        assert json.loads(rating[0]["payload"][len("/feedback"):]) == {"rating": "up", "entry": entry}
    for not_an_answer in ["hello", "What's the weather like on Mars?", "blorp"]:
        assert not [b for b in buttons(bot.ask(not_an_answer)) if b["payload"].startswith("/feedback")]


def test_thumbs_up_through_rest_is_stored(bot):
    sender = new_sender()
    up = feedback_payloads(buttons(bot.ask(QUESTION, sender)))["up"]
    reply = bot.ask(up, sender)
    assert texts(reply).strip() == RATINGS_REPLY["up"] and not buttons(reply)
    assert stored_feedback(bot, f"rest:{sender}", 1) == [step("up")]
    assert not parsed_through_nlu(recorded_user_turns(bot, f"rest:{sender}")[-1])  # the button, as a command


def test_thumbs_down_reason_and_comment_through_rest_are_stored(bot):
    sender = new_sender()
    down = feedback_payloads(buttons(bot.ask(QUESTION, sender)))["down"]
    reasons = bot.ask(down, sender)
    assert texts(reasons).strip() == RATINGS_REPLY["reasons"]
    assert buttons(reasons) == [{"title": CONTENT.message(f"feedback_reason_{r}", "en"),
                                 "payload": feedback.payload(ENTRY, "down", r)} for r in feedback.REASONS]
    missing = buttons(reasons)[1]["payload"]
    assert texts(bot.ask(missing, sender)).strip() == RATINGS_REPLY["comment"]
    assert texts(bot.ask(COMMENT, sender)).strip() == RATINGS_REPLY["noted"]
    assert stored_feedback(bot, f"rest:{sender}", 3) == [step("down"), step("down", "missing"),
                                                         step("down", comment=COMMENT)]
    # Only one comment is taken: the next message is a turn like any other.
    assert texts(bot.ask("What is IOM?", sender)).count("1951") and len(stored_feedback(bot, f"rest:{sender}", 3)) == 3


def test_a_typed_rating_after_the_reason_is_the_comment_not_a_new_thumbs_down(bot):
    """"The answer was confusing…" is also what the NLU calls `feedback`: it used to ask for the reasons again
    and lose the comment."""
    sender = new_sender()
    bot.ask(QUESTION, sender)
    bot.ask(feedback.payload(ENTRY, "down"), sender)
    bot.ask(feedback.payload(ENTRY, "down", "unclear"), sender)
    comment = "The answer was confusing, I needed the exact date"
    reply = bot.ask(comment, sender)
    assert texts(reply).strip() == RATINGS_REPLY["noted"] and not buttons(reply)
    assert stored_feedback(bot, f"rest:{sender}", 3)[-1] == step("down", comment=comment)


def test_a_question_after_a_thumbs_down_is_answered_not_swallowed(bot):
    sender = new_sender()
    bot.ask(QUESTION, sender)
    bot.ask(feedback.payload(ENTRY, "down"), sender)
    assert texts(bot.ask(feedback.payload(ENTRY, "down", "wrong"), sender)).strip() == RATINGS_REPLY["comment"]
    answer = bot.ask("What is IOM?", sender)
    assert texts(answer).strip() == CONTENT.entries["iom_about"].answer["en"].strip()
    assert buttons(answer)[-1]["payload"] == feedback.payload("iom_about", "down")  # its own rating buttons
    # The comment is no longer expected: the same words are now an ordinary turn, answered as such, not noted.
    assert texts(bot.ask(COMMENT, sender)).strip() != RATINGS_REPLY["noted"]
    stored = stored_feedback(bot, f"rest:{sender}", 2)
    assert stored == [step("down"), step("down", "wrong")]
    assert stored_slot_values(bot.env["TRACKER_DB"], f"rest:{sender}", feedback.AWAITING_COMMENT_SLOT,
                              2)[-2:] == [ENTRY, None]


def test_a_long_comment_is_stored_cut_and_an_over_long_one_refused(bot):
    sender = new_sender()
    bot.ask(QUESTION, sender)
    bot.ask(feedback.payload(ENTRY, "down"), sender)
    bot.ask(feedback.payload(ENTRY, "down", "missing"), sender)
    too_long = "too vague " * 300  # 3,000 characters: over MAX_MESSAGE_CHARS, answered before NLU
    assert "too long" in texts(bot.ask(too_long, sender))
    long = ("too vague for my report " * 40).strip()  # 959 characters
    assert texts(bot.ask(long, sender)).strip() == RATINGS_REPLY["noted"]
    stored = stored_feedback(bot, f"rest:{sender}", 3)
    assert stored[-1] == step("down", comment=long[:feedback.MAX_COMMENT_CHARS])
    assert all(len(s["comment"] or "") <= feedback.MAX_COMMENT_CHARS for s in stored)


FORGED = {
    "unknown entry": '/feedback{"rating":"up","entry":"no_such_entry"}',
    "bad rating": '/feedback{"rating":"meh","entry":"office_established"}',
    "bad reason": '/feedback{"rating":"down","entry":"office_established","reason":"lies"}',
    "extra key": '/feedback{"rating":"up","entry":"office_established","admin":true}',
    "huge comment": '/feedback{"rating":"down","entry":"office_established","comment":"' + "A" * 1900 + '"}',
    "not an object": '/feedback["up","office_established"]',
    "broken JSON": '/feedback{"rating":"up","entry":"office_established"',
    "nested deep": "/feedback" + '{"a":' * 300 + "1" + "}" * 300,  # 1,820 characters
    "entry a list": '/feedback{"rating":"up","entry":["office_established"]}',
    "entry an object": '/feedback{"rating":"up","entry":{"id":"office_established"}}',
    "rating a list": '/feedback{"rating":["up"],"entry":"office_established"}',
    "no values": "/feedback",
}


@pytest.mark.parametrize("forged", FORGED.values(), ids=FORGED.keys())
def test_a_forged_feedback_payload_gets_a_polite_reply_and_stores_nothing_invalid(bot, forged):
    sender = new_sender()
    bot.ask(QUESTION, sender)
    response = bot.session.post(bot.webhook, json={"sender": sender, "message": forged}, timeout=30)
    assert response.status_code == 200, response.text
    reply = texts(response.json()).strip()
    assert reply and reply != CONTENT.message("try_again", "en").strip()
    [_, turn] = recorded_user_turns(bot, f"rest:{sender}", count=2)
    assert parsed_through_nlu(turn)  # not taken as a command
    for value in stored_slot_values(bot.env["TRACKER_DB"], f"rest:{sender}", feedback.FEEDBACK_SLOT, 0, wait=0):
        assert value["entry"] in CONTENT.entries and value["rating"] in feedback.RATINGS
        assert value["reason"] in (None, *feedback.REASONS) and value["comment"] is None


# ---------------------------------------------------------------------------------------------- socket.io

def test_thumbs_up_and_down_with_reason_and_comment_through_socketio_are_stored(bot):
    with socketio_session(bot.base_url, page_origin(bot.env)) as (say, wait_for, session_id):
        say(QUESTION)
        answer = wait_for(1)[0]
        quick = {q["title"]: q["payload"] for q in answer["quick_replies"]}
        assert quick["👍 Helpful"] == feedback.payload(ENTRY, "up")
        say(quick["👍 Helpful"])
        assert wait_for(2)[1]["text"] == RATINGS_REPLY["up"]
        say(quick["👎 Not helpful"])
        reasons = wait_for(3)[2]
        assert reasons["text"] == RATINGS_REPLY["reasons"]
        unclear = next(q["payload"] for q in reasons["quick_replies"]
                       if q["title"] == CONTENT.message("feedback_reason_unclear", "en"))
        say(unclear)
        assert wait_for(4)[3]["text"] == RATINGS_REPLY["comment"]
        say(COMMENT)
        assert wait_for(5)[4]["text"] == RATINGS_REPLY["noted"]
    assert stored_feedback(bot, f"socketio:{session_id}", 4) == [
        step("up"), step("down"), step("down", "unclear"), step("down", comment=COMMENT)]


def test_a_forged_feedback_payload_through_socketio_gets_a_polite_reply(bot):
    with socketio_session(bot.base_url, page_origin(bot.env)) as (say, wait_for, session_id):
        say(FORGED["unknown entry"])
        reply = wait_for(1)[0]["text"]
        assert reply and reply != CONTENT.message("try_again", "en").strip()
    assert stored_slot_values(bot.env["TRACKER_DB"], f"socketio:{session_id}", feedback.FEEDBACK_SLOT, 0,
                              wait=0) == []


# ---------------------------------------------------------------------------------------------- Slack

def dm(bot, channel: str, user: str, text: str) -> None:
    event = {"event": {"type": "message", "channel_type": "im", "channel": channel, "user": user, "text": text,
                       "ts": f"{uuid.uuid4().int % 10**6}.1"}}
    assert send_slack_event(bot.session, bot.base_url, event).status_code == 200


def click(bot, channel: str, user: str, value: str) -> None:
    assert click_slack_button(bot.session, bot.base_url, user, channel, value).status_code == 200


def test_thumbs_up_and_down_with_reason_and_comment_through_slack_are_stored(bot, slack_api):
    channel, user = slack_channel_id("D"), f"U{uuid.uuid4().hex[:8].upper()}"

    def post(n: int) -> dict:
        return slack_api.wait_posts_to(channel, n + 1)[n]

    dm(bot, channel, user, QUESTION)
    offered = dict(block_buttons(post(0)))
    assert offered["👍 Helpful"] == feedback.payload(ENTRY, "up")
    click(bot, channel, user, offered["👍 Helpful"])
    assert post(1)["text"] == RATINGS_REPLY["up"]
    click(bot, channel, user, offered["👎 Not helpful"])
    reasons = post(2)
    assert reasons["text"] == RATINGS_REPLY["reasons"]
    wrong = dict(block_buttons(reasons))[CONTENT.message("feedback_reason_wrong", "en")]
    click(bot, channel, user, wrong)
    assert post(3)["text"] == RATINGS_REPLY["comment"]
    dm(bot, channel, user, COMMENT)
    assert post(4)["text"] == RATINGS_REPLY["noted"]
    assert stored_feedback(bot, f"slack:{user}", 4) == [step("up"), step("down"), step("down", "wrong"),
                                                       step("down", comment=COMMENT)]


def test_a_forged_feedback_button_through_slack_gets_a_polite_reply(bot, slack_api):
    channel, user = slack_channel_id("D"), f"U{uuid.uuid4().hex[:8].upper()}"
    click(bot, channel, user, FORGED["bad rating"])
    [reply] = slack_api.wait_posts_to(channel, 1)
    assert reply["text"] and reply["text"] != CONTENT.message("try_again", "en").strip()
    assert stored_slot_values(bot.env["TRACKER_DB"], f"slack:{user}", feedback.FEEDBACK_SLOT, 0, wait=0) == []

"""Slack: the reply language from the user's Slack locale (users.info, cached per user), and escalation of a
question the assistant could not answer to a staff channel (SLACK_ESCALATION_CHANNEL).

Live: signed events and block_actions interactions to the real webhook of a real Rasa + action server pair,
with replies and Web API calls recorded by the local Slack Web API stand-in (`slack_api`). The shared `bot`
has no escalation channel; this module starts its own pair (`own_bot`) with one. In-process: what the
channel hands to Rasa (FakeRasa) and how the escalated question is quoted.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from typing import Dict, Iterator, List

import pytest
import requests

from bot import servers
from bot.answers.content_store import load_content
from bot.channels.slack import quoted, to_mrkdwn
from tests.support import (
    SLACK_BOT_USER,
    SLACK_TOKEN,
    RunningBot,
    block_buttons,
    click_slack_button,
    send_slack_event,
    slack_channel_id,
    start_servers,
)

CONTENT = load_content()
ESCALATION_CHANNEL = f"CSTAFF{uuid.uuid4().hex[:6].upper()}"
UNANSWERABLE = "coordinate the thingamajig with the whatsit?"  # NLU: nlu_fallback (top intent 0.24)
FALLBACK = {language: to_mrkdwn(CONTENT.message("fallback", language).strip()) for language in ("en", "fr")}


def new_user() -> str:
    return f"U{uuid.uuid4().hex[:9].upper()}"


def answer(entry: str, language: str) -> str:
    """An entry's answer as the Slack channel posts it."""
    return to_mrkdwn(CONTENT.entries[entry].answer[language].strip())


@pytest.fixture(scope="module")
def own_bot(bot_env, tmp_path_factory) -> Iterator[RunningBot]:
    """A Rasa + action server pair with SLACK_ESCALATION_CHANNEL set, on the session's Slack stand-in."""
    env = dict(bot_env, RASA_PORT=str(servers.free_port()), ACTION_PORT=str(servers.free_port()),
               TRACKER_DB=str(tmp_path_factory.mktemp("escalation") / "tracker.db"),
               SLACK_ESCALATION_CHANNEL=ESCALATION_CHANNEL)
    rasa, actions = start_servers(env, "escalation")
    with requests.Session() as session:
        yield RunningBot(env, rasa, actions, session)
    servers.stop(rasa)
    servers.stop(actions)


def dm(running: RunningBot, channel: str, user: str, text: str, **extra) -> requests.Response:
    event = {"event": {"type": "message", "channel_type": "im", "channel": channel, "user": user, "text": text,
                       "ts": f"{time.time():.6f}"}, **extra}
    response = send_slack_event(running.session, running.base_url, event)
    assert response.status_code == 200
    return response


def conversation(running: RunningBot, slack_api, user: str, messages: List[str]) -> List[dict]:
    """Sends `messages` one after the other as direct messages from `user`; the bot's replies."""
    channel = slack_channel_id("D")
    for n, text in enumerate(messages, 1):
        dm(running, channel, user, text)
        slack_api.wait_posts_to(channel, n)
    return slack_api.posts_to(channel)


# ---------------------------------------------------------------------------------------------- locale

def test_a_french_slack_locale_gets_french_replies_and_users_info_is_asked_once(bot, slack_api):
    """Messages that carry no language of their own ("EURCAP?") are answered in the user's locale."""
    user = new_user()
    slack_api.locales[user] = "fr-FR"
    replies = conversation(bot, slack_api, user, ["EURCAP?", "AVRR?", "EURCAP?"])
    assert [r["text"] for r in replies] == [answer("project_eurcap", "fr"), answer("prio_avrr", "fr"),
                                            answer("project_eurcap", "fr")]
    assert ("👍 Utile", '/feedback{"rating":"up","entry":"project_eurcap"}') in block_buttons(replies[0])
    assert len(slack_api.calls("users.info", user=user)) == 1  # cached for the following messages


def test_an_english_locale_and_no_locale_keep_english(bot, slack_api):
    user = new_user()
    slack_api.locales[user] = "en-GB"
    assert [r["text"] for r in conversation(bot, slack_api, user, ["EURCAP?"])] == [answer("project_eurcap", "en")]
    user = new_user()
    slack_api.locales[user] = "de-DE"  # not a language we answer in: as without a locale
    assert [r["text"] for r in conversation(bot, slack_api, user, ["EURCAP?"])] == [answer("project_eurcap", "en")]


def test_a_failing_users_info_falls_back_to_the_detected_language(bot, slack_api):
    french, english, unknown = new_user(), new_user(), new_user()
    slack_api.failing_users.update({french, english, unknown})
    replies = conversation(bot, slack_api, french, ["Quels sont les partenaires du bureau ?", "EURCAP?"])
    assert [r["text"] for r in replies] == [answer("partners_overview", "fr"), answer("project_eurcap", "fr")]
    assert [r["text"] for r in conversation(bot, slack_api, english, ["Who are the partners?"])] == [
        answer("partners_overview", "en")]
    assert [r["text"] for r in conversation(bot, slack_api, unknown, ["EURCAP?"])] == [answer("project_eurcap", "en")]
    for user in (french, english, unknown):  # asked once; the failure is remembered too
        assert len(slack_api.calls("users.info", user=user)) == 1


# ---------------------------------------------------------------------------------------------- escalation

def passed_on_for(slack_api, user: str) -> List[dict]:
    """What was posted to the escalation channel about `user`'s questions (waiting for a first one)."""
    return slack_api.wait_for(lambda p: p.get("channel") == ESCALATION_CHANNEL and f"<@{user}>" in p["text"])


def escalate_button(post: dict) -> List[tuple]:
    return [(title, value) for title, value in block_buttons(post) if value.startswith("escalate:")]


def test_a_fallback_offers_escalation_and_a_click_passes_the_question_on_once(own_bot, slack_api):
    user, channel = new_user(), slack_channel_id("D")
    dm(own_bot, channel, user, UNANSWERABLE)
    [reply] = slack_api.wait_posts_to(channel, 1)
    assert reply["text"] == FALLBACK["en"]
    assert escalate_button(reply) == [("🙋 Ask the team", f"escalate:{UNANSWERABLE}")]
    assert block_buttons(reply)[:-1] == [(b["title"], b["payload"]) for b in CONTENT.buttons(CONTENT.menu, "en")]

    trigger = uuid.uuid4().hex
    clicked = click_slack_button(own_bot.session, own_bot.base_url, user, channel, f"escalate:{UNANSWERABLE}",
                                 message_ts="1700000000.000100", trigger_id=trigger)
    assert clicked.status_code == 200
    [passed_on] = passed_on_for(slack_api, user)
    permalink = f"https://example.slack.com/archives/{channel}/p1700000000.000100"
    assert passed_on["text"] == (f"<@{user}> asked a question the assistant could not answer:\n>{UNANSWERABLE}\n"
                                 f"<{permalink}|Open the conversation>")
    assert slack_api.calls("chat.getPermalink", channel=channel) == [
        {"method": "chat.getPermalink", "auth": f"Bearer {SLACK_TOKEN}", "channel": channel,
         "message_ts": "1700000000.000100"}]
    [_, thanks] = slack_api.wait_posts_to(channel, 2)
    assert thanks["text"] == to_mrkdwn(CONTENT.message("escalated", "en").strip())

    # Slack retries the interaction (same trigger): acknowledged, never passed on again.
    retry = click_slack_button(own_bot.session, own_bot.base_url, user, channel, f"escalate:{UNANSWERABLE}",
                               message_ts="1700000000.000100", trigger_id=trigger,
                               headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status_code == 200 and retry.headers.get("X-Slack-No-Retry") == "1"
    time.sleep(2)
    assert len(passed_on_for(slack_api, user)) == 1 and len(slack_api.posts_to(channel)) == 2
    assert len(slack_api.calls("chat.getPermalink", channel=channel)) == 1


def test_escalation_in_a_thread_in_french(own_bot, slack_api):
    user, channel = new_user(), slack_channel_id()
    slack_api.locales[user] = "fr-BE"
    event = {"event": {"type": "app_mention", "channel": channel, "user": user, "ts": "8.2", "thread_ts": "8.1",
                       "text": f"<@{SLACK_BOT_USER}> xyz"}}
    assert send_slack_event(own_bot.session, own_bot.base_url, event).status_code == 200
    [reply] = slack_api.wait_posts_to(channel, 1)
    assert reply["text"] == FALLBACK["fr"] and reply["thread_ts"] == "8.1"
    [(title, value)] = escalate_button(reply)
    assert (title, value) == (CONTENT.message("escalate_button", "fr"), "escalate:xyz")
    click_slack_button(own_bot.session, own_bot.base_url, user, channel, value, message_ts="8.3", thread_ts="8.1")
    [thanks] = [p for p in slack_api.wait_posts_to(channel, 2) if p is not reply]
    assert thanks["text"] == to_mrkdwn(CONTENT.message("escalated", "fr").strip()) and thanks["thread_ts"] == "8.1"
    [passed_on] = passed_on_for(slack_api, user)
    assert f"\n>xyz\n<https://example.slack.com/archives/{channel}/p8.3|Open the conversation>" in passed_on["text"]


def test_an_escalated_question_cannot_notify_the_staff_channel(own_bot, slack_api):
    """The question is the user's text: "@channel" (Slack sends <!channel>) must not ping every member."""
    user, channel = new_user(), slack_channel_id("D")
    question = "<!channel> <!subteam^S0123|@legal> what is this?\nsecond line <!here>"
    click_slack_button(own_bot.session, own_bot.base_url, user, channel, f"escalate:{question}")
    [passed_on] = passed_on_for(slack_api, user)
    assert "<!" not in passed_on["text"]
    assert ">@channel @legal what is this?\n>second line @here\n" in passed_on["text"]


def test_answers_and_other_replies_offer_no_escalation(own_bot, slack_api):
    user = new_user()
    replies = conversation(own_bot, slack_api, user, ["What is IOM?", "What's the weather like on Mars?"])
    assert replies[0]["text"] == answer("iom_about", "en")
    assert replies[1]["text"] == to_mrkdwn(CONTENT.message("out_of_scope", "en").strip())
    assert [escalate_button(r) for r in replies] == [[], []]


def test_a_retried_event_is_answered_once(own_bot, slack_api):
    user, channel = new_user(), slack_channel_id("D")
    event_id = f"Ev{uuid.uuid4().hex[:10]}"
    dm(own_bot, channel, user, UNANSWERABLE, event_id=event_id)
    slack_api.wait_posts_to(channel, 1)
    for attempt in ("1", "2"):
        event = {"event": {"type": "message", "channel_type": "im", "channel": channel, "user": user,
                           "text": UNANSWERABLE, "ts": "9.1"}, "event_id": event_id}
        retry = send_slack_event(own_bot.session, own_bot.base_url, event,
                                 headers={"X-Slack-Retry-Num": attempt, "X-Slack-Retry-Reason": "http_error"})
        assert retry.status_code == 200 and retry.headers.get("X-Slack-No-Retry") == "1"
    time.sleep(2)
    [reply] = slack_api.posts_to(channel)
    assert len(escalate_button(reply)) == 1


def test_without_an_escalation_channel_there_is_no_button_and_a_click_posts_nothing(bot, slack_api):
    user, channel = new_user(), slack_channel_id("D")
    dm(bot, channel, user, UNANSWERABLE)
    [reply] = slack_api.wait_posts_to(channel, 1)
    assert reply["text"] == FALLBACK["en"] and escalate_button(reply) == []
    posted = len(slack_api.posts)
    clicked = click_slack_button(bot.session, bot.base_url, user, channel, f"escalate:{UNANSWERABLE}")
    assert clicked.status_code == 200
    time.sleep(2)
    assert slack_api.posts[posted:] == []  # no permalink asked, nothing posted anywhere


# ---------------------------------------------------------------------------------------------- in-process

def send_in_process(app, user: str, channel: str, text: str) -> None:
    from tests.support import slack_event_body, slack_signature
    body = slack_event_body({"event": {"type": "message", "channel_type": "im", "channel": channel, "user": user,
                                       "text": text, "ts": "1.1"}})
    reply = app.post("/webhooks/slack/webhook", content=body,
                     headers={"Content-Type": "application/json", **slack_signature(body)})
    assert reply.status_code == 200
    channel_input = app.app.ctx.input_channels[0]
    while channel_input._background_tasks:
        app.run(asyncio.gather(*channel_input._background_tasks))


def test_the_locale_reaches_rasa_as_the_language_hint(slack, slack_api):
    app, rasa = slack
    french, failing = new_user(), new_user()
    slack_api.locales[french] = "fr-FR"
    slack_api.failing_users.add(failing)
    channel = slack_channel_id("D")
    for text in ("EURCAP?", "merci", "AVRR?"):
        send_in_process(app, french, channel, text)
    send_in_process(app, failing, channel, "EURCAP?")
    metadata: List[Dict] = [m.metadata for m in rasa.received]
    assert [m.get("language") for m in metadata] == ["fr-FR", "fr-FR", "fr-FR", None]
    assert [m.sender_id for m in rasa.received] == [f"slack:{french}"] * 3 + [f"slack:{failing}"]
    assert len(slack_api.calls("users.info", user=french)) == 1
    assert len(slack_api.calls("users.info", user=failing)) == 1


@pytest.mark.parametrize("question,expected", [
    ("what is IOM?", ">what is IOM?"),
    ("first line\nsecond line", ">first line\n>second line"),
    ("<!channel> hello", ">@channel hello"),
    ("<!here|here> and <!everyone>", ">here and @everyone"),
    ("<!subteam^S0123|@legal> please", ">@legal please"),
    ("<!subteam^S0123> please", ">@subteam please"),
    ("ask <@U123> about <https://www.iom.int|IOM>", ">ask <@U123> about <https://www.iom.int|IOM>"),
    ("", ">"),
])
def test_an_escalated_question_is_quoted_line_by_line_without_special_mentions(question, expected):
    assert quoted(question) == expected

"""Slack: correctly signed Events API requests to the real webhook; replies land on a local stand-in for
Slack's Web API. Signature checks, retries and malformed payloads are tested in-process (the channel mounted
as Rasa mounts it, Rasa's turn replaced by FakeRasa); conversations through the live bot."""
from __future__ import annotations

import asyncio
import json
import uuid
from urllib.parse import urlencode

import pytest
import requests

from bot.answers import feedback
from bot.answers.content_store import load_content
from bot.channels.slack import HardenedSlackInput, SlackOutput, to_mrkdwn
from bot.settings import Settings
from tests.support import (
    SLACK_BOT_USER,
    SLACK_TOKEN,
    ChannelApp,
    FakeRasa,
    parsed_through_nlu,
    recorded_user_turns,
    send_slack_event,
    slack_channel_id,
    slack_event_body,
    slack_signature,
)

CONTENT = load_content()
WEBHOOK = "/webhooks/slack/webhook"


def dm_event(channel: str, text: str = "What is IOM?", user: str = "U1", **extra) -> dict:
    return {"event": {"type": "message", "channel_type": "im", "channel": channel, "user": user, "text": text,
                      "ts": "1.1"}, **extra}


# ---------------------------------------------------------------------------------------------- in-process

def post_event(app, event: dict, headers=None, sign=True, **signing):
    body = slack_event_body(event)
    return app.post(WEBHOOK, content=body, headers={"Content-Type": "application/json", **(headers or {}),
                                                    **(slack_signature(body, **signing) if sign else {})})


def drain(app) -> None:
    """Run the channel's background answers to completion (Slack gets its HTTP 200 before the answer)."""
    channel = app.app.ctx.input_channels[0]
    while channel._background_tasks:
        app.run(asyncio.gather(*channel._background_tasks))


def test_url_verification(slack):
    app, _ = slack
    body = json.dumps({"type": "url_verification", "challenge": "abc123"}).encode()
    reply = app.post(WEBHOOK, content=body, headers={"Content-Type": "application/json", **slack_signature(body)})
    assert reply.status_code == 200 and reply.json() == {"challenge": "abc123"}


@pytest.mark.parametrize("case", ["unsigned", "wrong secret", "stale"])
def test_unauthentic_requests_are_rejected_without_a_turn(slack, case):
    import time
    app, rasa = slack
    signing = {"unsigned": {"sign": False}, "wrong secret": {"secret": "nope"},
               "stale": {"timestamp": int(time.time()) - 6 * 60}}[case]
    reply = post_event(app, dm_event(slack_channel_id("D")), **signing)
    assert reply.status_code == 401
    drain(app)
    assert rasa.received == []


@pytest.mark.parametrize("reason", ["http_timeout", "http_error", "connection_failed", "unknown"])
def test_retry_of_a_handled_event_is_never_answered_twice(slack, slack_api, reason):
    app, rasa = slack
    dm = slack_channel_id("D")
    event = dm_event(dm, event_id=f"Ev{uuid.uuid4().hex[:10]}")
    assert post_event(app, event).status_code == 200
    drain(app)
    retry = post_event(app, event, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": reason})
    drain(app)
    assert retry.status_code == 200 and retry.headers.get("X-Slack-No-Retry") == "1"
    assert len(rasa.received) == 1 and len(slack_api.posts_to(dm)) == 1


@pytest.mark.parametrize("body,content_type", [(b"[1,2]", "application/json"), (b"{bad", "application/json"),
                                               (b"payload=%7Bbad", "application/x-www-form-urlencoded"),
                                               (b"x=1", "application/x-www-form-urlencoded")])
def test_malformed_payloads_get_400_not_500(slack, body, content_type):
    app, _ = slack
    reply = app.post(WEBHOOK, content=body, headers={"Content-Type": content_type, **slack_signature(body)})
    assert reply.status_code == 400


def test_disabled_without_secrets_answers_503():
    app = ChannelApp([HardenedSlackInput.from_settings(config=Settings())], FakeRasa())
    try:
        assert app.post(WEBHOOK, content=b"{}").status_code == 503
    finally:
        app.close()


def test_markdown_becomes_slack_mrkdwn():
    assert to_mrkdwn("**bold** and [IOM](https://www.iom.int)") == "*bold* and <https://www.iom.int|IOM>"


def test_more_than_five_buttons_are_all_sent_in_blocks_of_five(slack_api):
    channel = slack_channel_id()
    buttons = [{"title": f"Option {i}", "payload": f"/ask_x{i}"} for i in range(7)]
    output = SlackOutput(SLACK_TOKEN, channel, api_url=slack_api.url)
    asyncio.run(output.send_text_with_buttons(channel, "Pick", buttons))
    [post] = slack_api.wait_for(lambda p: p.get("channel") == channel)
    actions = [b for b in post["blocks"] if b["type"] == "actions"]
    assert [len(a["elements"]) for a in actions] == [5, 2]
    assert [e["value"] for a in actions for e in a["elements"]] == [b["payload"] for b in buttons]


# ---------------------------------------------------------------------------------------------- live server

def send(bot, event, **kwargs):
    return send_slack_event(bot.session, bot.base_url, event, **kwargs)


def test_direct_message_is_answered_once_with_buttons_and_no_as_user(bot, slack_api):
    dm = slack_channel_id("D")
    assert send(bot, dm_event(dm, "When was the Brussels office established?")).status_code == 200
    [post] = slack_api.wait_for(lambda p: p.get("channel") == dm)
    assert post["method"] == "chat.postMessage" and post["auth"] == f"Bearer {SLACK_TOKEN}"
    assert "*September 2011*" in post["text"] and "as_user" not in post and "thread_ts" not in post
    [section, actions] = post["blocks"]
    assert section["text"]["type"] == "mrkdwn"
    assert [e["value"] for e in actions["elements"]] == [
        *(CONTENT.entries[i].payload for i in CONTENT.entries["office_established"].followups),
        *(feedback.payload("office_established", rating) for rating in feedback.RATINGS)]  # then 👍 / 👎


def test_app_mention_in_channel_and_threaded_reply(bot, slack_api):
    channel = slack_channel_id()
    send(bot, {"event": {"type": "app_mention", "channel": channel, "user": "U2",
                         "text": f"<@{SLACK_BOT_USER}> what is EURCAP?", "ts": "2.1"}})
    [post] = slack_api.wait_for(lambda p: p.get("channel") == channel)
    assert "Readmission" in post["text"] and "thread_ts" not in post

    send(bot, {"event": {"type": "app_mention", "channel": channel, "user": "U2", "ts": "2.3",
                         "thread_ts": "2.2", "text": f"<@{SLACK_BOT_USER}> who are your partners?"}})
    [threaded] = slack_api.wait_for(lambda p: p.get("channel") == channel and p.get("thread_ts") == "2.2")
    assert "NGOs" in threaded["text"]


def test_button_click_from_interactivity_payload(bot, slack_api):
    channel = slack_channel_id()
    payload = {"type": "block_actions", "user": {"id": "U3"}, "channel": {"id": channel},
               "trigger_id": uuid.uuid4().hex, "message": {"ts": "3.1", "thread_ts": "3.0"},
               "actions": [{"type": "button", "value": CONTENT.entries["prio_avrr"].payload, "action_ts": "3.2"}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    reply = bot.session.post(bot.base_url + WEBHOOK, data=body, timeout=10,
                             headers={"Content-Type": "application/x-www-form-urlencoded", **slack_signature(body)})
    assert reply.status_code == 200
    [post] = slack_api.wait_for(lambda p: p.get("channel") == channel)
    assert "Assisted Voluntary Return" in post["text"] and post["thread_ts"] == "3.0"


def test_slash_text_is_not_an_intent_command(bot, slack_api):
    dm = slack_channel_id("D")
    send(bot, dm_event(dm, "/bot_challenge", user="U9"))
    slack_api.wait_for(lambda p: p.get("channel") == dm)
    [turn] = recorded_user_turns(bot, "slack:U9")
    assert parsed_through_nlu(turn)


def test_unsigned_request_to_the_live_server_is_refused(bot):
    reply = send_slack_event(requests.Session(), bot.base_url, dm_event(slack_channel_id("D")), sign=False)
    assert reply.status_code == 401

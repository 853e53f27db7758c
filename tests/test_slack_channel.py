"""Slack: correctly signed Events API requests to the real Rasa webhook; replies land on a local stand-in
for Slack's Web API."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import urlencode

import pytest

from bot.channels.slack import to_mrkdwn
from bot.content_store import load_content
from tests.conftest import SLACK_SIGNING_SECRET, SLACK_TOKEN

CONTENT = load_content()
BOT_USER = "UBOT"


def signed(body: bytes, secret: str = SLACK_SIGNING_SECRET, timestamp: int = None) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def send_event(bot, event: dict, headers=None, sign=True, **signing):
    body = json.dumps({"type": "event_callback", "event_id": f"Ev{uuid.uuid4().hex[:10]}",
                       "authorizations": [{"user_id": BOT_USER}], **event}).encode()
    all_headers = {"Content-Type": "application/json", **(signed(body, **signing) if sign else {}), **(headers or {})}
    return bot.session.post(bot.base_url + "/webhooks/slack/webhook", data=body, headers=all_headers, timeout=10), body


def channel_id():
    return f"C{uuid.uuid4().hex[:8].upper()}"


def posts_to(slack_api, channel):
    return [p for p in slack_api.posts if p.get("channel") == channel]


def test_url_verification(bot):
    body = json.dumps({"type": "url_verification", "challenge": "abc123"}).encode()
    reply = bot.session.post(bot.base_url + "/webhooks/slack/webhook", data=body,
                             headers={"Content-Type": "application/json", **signed(body)}, timeout=10)
    assert reply.status_code == 200 and reply.json() == {"challenge": "abc123"}


def test_direct_message_is_answered_once_with_buttons_and_no_as_user(bot, slack_api):
    dm = f"D{uuid.uuid4().hex[:8].upper()}"
    reply, _ = send_event(bot, {"event": {"type": "message", "channel_type": "im", "channel": dm, "user": "U1",
                                          "text": "When was the Brussels office established?", "ts": "1.1"}})
    assert reply.status_code == 200
    [post] = slack_api.wait_for(lambda p: p.get("channel") == dm)
    assert post["method"] == "chat.postMessage" and post["auth"] == f"Bearer {SLACK_TOKEN}"
    assert "*September 2011*" in post["text"] and "as_user" not in post and "thread_ts" not in post
    [section, actions] = post["blocks"]
    assert section["text"]["type"] == "mrkdwn"
    assert [e["value"] for e in actions["elements"]] == [CONTENT.entries[i].payload
                                                          for i in CONTENT.entries["office_established"].followups]
    time.sleep(1)
    assert len(posts_to(slack_api, dm)) == 1


def test_app_mention_in_channel_and_threaded_reply(bot, slack_api):
    channel = channel_id()
    send_event(bot, {"event": {"type": "app_mention", "channel": channel, "user": "U2",
                               "text": f"<@{BOT_USER}> what is EURCAP?", "ts": "2.1"}})
    [post] = slack_api.wait_for(lambda p: p.get("channel") == channel)
    assert "Readmission" in post["text"] and "thread_ts" not in post

    send_event(bot, {"event": {"type": "app_mention", "channel": channel, "user": "U2", "ts": "2.3",
                               "thread_ts": "2.2", "text": f"<@{BOT_USER}> who are your partners?"}})
    [threaded] = slack_api.wait_for(lambda p: p.get("channel") == channel and p.get("thread_ts") == "2.2")
    assert "NGOs" in threaded["text"]


def test_button_click_from_interactivity_payload(bot, slack_api):
    channel = channel_id()
    payload = {"type": "block_actions", "user": {"id": "U3"}, "channel": {"id": channel}, "trigger_id": uuid.uuid4().hex,
               "message": {"ts": "3.1", "thread_ts": "3.0"},
               "actions": [{"type": "button", "value": CONTENT.entries["prio_avrr"].payload, "action_ts": "3.2"}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    reply = bot.session.post(bot.base_url + "/webhooks/slack/webhook", data=body, timeout=10,
                             headers={"Content-Type": "application/x-www-form-urlencoded", **signed(body)})
    assert reply.status_code == 200
    [post] = slack_api.wait_for(lambda p: p.get("channel") == channel)
    assert "Assisted Voluntary Return" in post["text"] and post["thread_ts"] == "3.0"


@pytest.mark.parametrize("reason", ["http_timeout", "http_error", "connection_failed", "unknown"])
def test_retry_of_a_handled_event_is_never_answered_twice(bot, slack_api, reason):
    dm = f"D{uuid.uuid4().hex[:8].upper()}"
    event = {"event": {"type": "message", "channel_type": "im", "channel": dm, "user": "U4",
                       "text": "What is IOM?", "ts": "4.1"}, "event_id": f"Ev{uuid.uuid4().hex[:10]}"}
    send_event(bot, event)
    slack_api.wait_for(lambda p: p.get("channel") == dm)
    retry, _ = send_event(bot, event, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": reason})
    assert retry.status_code == 200 and retry.headers.get("X-Slack-No-Retry") == "1"
    time.sleep(1.5)
    assert len(posts_to(slack_api, dm)) == 1


@pytest.mark.parametrize("case", ["unsigned", "wrong secret", "stale"])
def test_unauthentic_requests_are_rejected_without_reply(bot, slack_api, case):
    dm = f"D{uuid.uuid4().hex[:8].upper()}"
    signing = {"unsigned": {"sign": False}, "wrong secret": {"secret": "nope"},
               "stale": {"timestamp": int(time.time()) - 6 * 60}}[case]
    reply, _ = send_event(bot, {"event": {"type": "message", "channel_type": "im", "channel": dm, "user": "U5",
                                          "text": "What is IOM?", "ts": "5.1"}}, **signing)
    assert reply.status_code == 401
    time.sleep(1)
    assert posts_to(slack_api, dm) == []


@pytest.mark.parametrize("body,content_type", [(b"[1,2]", "application/json"), (b"{bad", "application/json"),
                                               (b"payload=%7Bbad", "application/x-www-form-urlencoded"),
                                               (b"x=1", "application/x-www-form-urlencoded")])
def test_malformed_payloads_get_400_not_500(bot, body, content_type):
    reply = bot.session.post(bot.base_url + "/webhooks/slack/webhook", data=body, timeout=10,
                             headers={"Content-Type": content_type, **signed(body)})
    assert reply.status_code == 400


def test_markdown_becomes_slack_mrkdwn():
    assert to_mrkdwn("**bold** and [IOM](https://www.iom.int)") == "*bold* and <https://www.iom.int|IOM>"


def test_more_than_five_buttons_are_all_sent_in_blocks_of_five(slack_api):
    import asyncio
    from bot.channels.slack import SlackOutput
    channel = channel_id()
    buttons = [{"title": f"Option {i}", "payload": f"/ask_x{i}"} for i in range(7)]
    asyncio.run(SlackOutput(SLACK_TOKEN, channel, api_url=slack_api.url).send_text_with_buttons(channel, "Pick", buttons))
    [post] = slack_api.wait_for(lambda p: p.get("channel") == channel)
    actions = [b for b in post["blocks"] if b["type"] == "actions"]
    assert [len(a["elements"]) for a in actions] == [5, 2]
    assert [e["value"] for a in actions for e in a["elements"]] == [b["payload"] for b in buttons]


def test_slash_text_is_not_an_intent_command(bot, slack_api):
    from tests.conftest import parsed_through_nlu, recorded_user_turns
    dm = f"D{uuid.uuid4().hex[:8].upper()}"
    send_event(bot, {"event": {"type": "message", "channel_type": "im", "channel": dm, "user": "U9",
                               "text": "/bot_challenge", "ts": "9.1"}})
    slack_api.wait_for(lambda p: p.get("channel") == dm)
    [turn] = recorded_user_turns(bot, "U9")
    assert parsed_through_nlu(turn)

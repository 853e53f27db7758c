"""Issue 14: one request must never stop the server. One test (or more) per row of the issue's table; the
live ones use their own servers with low limits, so they never disturb the shared `bot`.

Rows tested elsewhere: 8 (a stalled lock holder) and the PostgreSQL side of 1 and 13 in test_scale.py,
10 (the page server) in test_widget.py, 11 and 12 (image context, manifests) in test_deploy.py, 15
(SLACK_API_URL) in test_settings.py, and the property-based fuzzing of REST and socket.io in test_fuzz.py.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import pexpect
import pytest
import requests

from bot import servers
from bot.answers.content_store import ContentError, load_content
from bot.channels.base import FaqChannel
from bot.channels.rest import HardenedRestInput
from bot.channels.signing import Signer
from bot.channels.socketio import HardenedSocketIOInput, UnsupportedSetting
from bot.settings import ROOT, Settings
from bot.stores.tracker_store import StrictSQLTrackerStore, TrackerStoreUnavailable
from tests.support import (
    LOG_DIR,
    ChannelApp,
    FakeRasa,
    new_sender,
    page_origin,
    send_slack_event,
    slack_channel_id,
    socketio_client,
    socketio_session,
    start_servers,
    texts,
)

CONTENT = load_content()
WEBHOOK = "/webhooks/rest/webhook"
BAD_IDS = ["\ud800", "a\x00b", "tab\there", "line\nbreak", "\x1b[31mred", "rtl\u202eevil", "x" * 256, "", " "]
GOOD_IDS = ["visitor-42", "x" * 255, "Zoë 😀", "مرحبا"]


# ---------------------------------------------------------------------------------------------- row 1

@pytest.mark.parametrize("sender", ["\ud800", "a\x00b"])
def test_a_database_error_on_an_id_is_a_loud_store_error_not_an_exit(tmp_path, sender, caplog):
    from rasa.shared.core.domain import Domain
    store = StrictSQLTrackerStore(Domain.load(str(ROOT / "domain.yml")), db=str(tmp_path / "t.db"))
    try:
        tracker = asyncio.run(store.retrieve(sender))  # SQLite takes NUL; a lone surrogate cannot be encoded
    except TrackerStoreUnavailable:
        assert "TRACKER STORE UNAVAILABLE" in caplog.text
    else:
        assert tracker is None


# ---------------------------------------------------------------------------------------------- rows 2-5, in-process

@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


def rest_app(rasa, **limits):
    config = Settings(turn_timeout=2, **{"client_messages_per_minute": 0, "conversation_messages_per_minute": 0,
                                         **limits})
    return ChannelApp([HardenedRestInput().configure(config)], rasa)


@pytest.mark.parametrize("sender", BAD_IDS, ids=repr)
def test_unusable_conversation_ids_get_400_and_never_reach_rasa(rasa, sender):
    app = rest_app(rasa)
    try:
        body = json.dumps({"sender": sender, "message": "hello"})  # lone surrogates travel as \\ud800 escapes
        response = app.post(WEBHOOK, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and "'sender'" in response.json()["error"]
        assert rasa.received == []
    finally:
        app.close()


@pytest.mark.parametrize("sender", GOOD_IDS)
def test_usable_conversation_ids_are_answered_under_the_channel_namespace(rasa, sender):
    app = rest_app(rasa)
    try:
        response = app.post(WEBHOOK, json={"sender": sender, "message": "hello"})
        assert response.status_code == 200 and response.json()[0]["recipient_id"] == sender
        assert rasa.received[0].sender_id == f"rest:{sender}"
    finally:
        app.close()


def test_surrogates_and_control_characters_are_removed_from_text(rasa):
    app = rest_app(rasa)
    try:
        body = '{"sender": "v", "message": "What\\ud800 is\\u0000 I\\u001bOM?\\r\\nand\\tthen"}'
        assert app.post(WEBHOOK, content=body, headers={"Content-Type": "application/json"}).status_code == 200
        assert rasa.received[0].text == "What is IOM? and then"  # and whitespace runs are one space
    finally:
        app.close()


def test_json_nested_1000_deep_gets_400_not_500(rasa):
    app = rest_app(rasa)
    try:
        for body in ("[" * 1000 + "]" * 1000, '{"sender": "v", "message": "hi", "metadata": ' + '{"a":' * 1000 + "1"
                     + "}" * 1001):
            response = app.post(WEBHOOK, content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 400, response.text
    finally:
        app.close()


def test_metadata_keeps_only_language_and_page_and_is_capped(rasa):
    app = rest_app(rasa)
    try:
        metadata = {"language": "fr", "page": "/about", "tracking": "x" * 100, "language_list": ["fr"]}
        assert app.post(WEBHOOK, json={"sender": "v", "message": "hi", "metadata": metadata}).status_code == 200
        assert rasa.received[0].metadata == {"language": "fr", "page": "/about"}
        huge = {"page": "x" * 2000}
        response = app.post(WEBHOOK, json={"sender": "v", "message": "hi", "metadata": huge})
        assert response.status_code == 400 and "bytes" in response.json()["error"]
    finally:
        app.close()


def test_per_client_limit_answers_429_with_retry_after(rasa):
    app = rest_app(rasa, client_messages_per_minute=8)  # a burst of 2, then one every 7.5 s
    try:
        codes = [app.post(WEBHOOK, json={"sender": new_sender(), "message": "hi"}) for _ in range(4)]
        assert [r.status_code for r in codes] == [200, 200, 429, 429]
        assert 1 <= int(codes[2].headers["Retry-After"]) <= 8 and codes[2].json()["retry_after"] >= 1
        assert len(rasa.received) == 2
    finally:
        app.close()


def test_per_conversation_limit_leaves_other_conversations_alone(rasa):
    app = rest_app(rasa, conversation_messages_per_minute=4)  # a burst of 1
    try:
        assert app.post(WEBHOOK, json={"sender": "busy", "message": "hi"}).status_code == 200
        assert app.post(WEBHOOK, json={"sender": "busy", "message": "hi"}).status_code == 429
        assert app.post(WEBHOOK, json={"sender": "calm", "message": "hi"}).status_code == 200
    finally:
        app.close()


def test_queued_turns_of_one_conversation_are_capped(rasa):
    rasa.behaviour = "hang"  # every turn waits until TURN_TIMEOUT: they pile up
    app = rest_app(rasa, max_queued_turns=2)

    async def burst():
        return await asyncio.gather(*(app.client.post(WEBHOOK, json={"sender": "piled", "message": f"q{i}"})
                                      for i in range(4)))
    try:
        codes = sorted(r.status_code for r in app.run(burst()))
        assert codes == [200, 200, 429, 429]  # two ran (and timed out into "try again"), two were refused
    finally:
        app.close()


def test_rate_limiter_memory_is_bounded():
    from bot.channels.limits import RateLimiter
    limiter = RateLimiter(per_minute=4, max_keys=100)
    for i in range(1000):
        limiter.retry_after(f"client-{i}")
    assert len(limiter._buckets) == 100


# ---------------------------------------------------------------------------------------------- rows 6, 7, 9, 14

def test_session_ids_are_signed_and_unforgeable():
    signer, other = Signer("key-one"), Signer("key-two")
    issued = signer.new_session_id()
    assert signer.is_session_id(issued) and not other.is_session_id(issued)
    random_part, signature = issued.split(".")
    for forged in (random_part, f"{random_part}.{'0' * len(signature)}", uuid.uuid4().hex, issued + "x", None, 42):
        assert not signer.is_session_id(forged)


def test_a_configured_jwt_key_stops_the_start_up_instead_of_being_ignored():
    with pytest.raises(UnsupportedSetting, match="jwt_key"):
        HardenedSocketIOInput.from_credentials({"jwt_key": "secret"})


def test_log_hashes_are_keyed():
    sender = "slack:U12345"
    hashed = Signer("key-one").log_hash(sender)
    assert hashed != Signer("key-two").log_hash(sender)
    assert hashed not in hashlib.sha256(sender.encode()).hexdigest()  # not recoverable by hashing candidates


def test_a_database_error_logs_no_user_text(tmp_path, caplog):
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    path = tmp_path / "t.db"
    store = StrictSQLTrackerStore(Domain.load(str(ROOT / "domain.yml")), db=str(path))
    tracker = DialogueStateTracker("rest:SECRET-SENDER", [])
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("my passport number is SECRET-TEXT", {"name": "greet", "confidence": 1.0}))
    import sqlite3
    with sqlite3.connect(path) as db:  # the table no longer takes writes: every INSERT fails
        db.execute("CREATE TRIGGER no_writes BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'read-only'); END")
    with caplog.at_level(logging.DEBUG), pytest.raises(TrackerStoreUnavailable):
        asyncio.run(store.save(tracker))
    assert "TRACKER STORE UNAVAILABLE" in caplog.text and "read-only" in caplog.text
    assert "SECRET-TEXT" not in caplog.text and "SECRET-SENDER" not in caplog.text


@pytest.mark.parametrize("link", ["[click](javascript:alert(1))", "<javascript:alert(1)>", "[x](data:text/html,hi)",
                                  "[x](vbscript:msgbox)", "[x](/relative)"])
def test_content_links_other_than_https_http_mailto_are_refused(tmp_path, link):
    import shutil

    import yaml
    content = tmp_path / "content"
    shutil.copytree(ROOT / "bot" / "content", content)
    data = yaml.safe_load((content / "iom.yml").read_text(encoding="utf-8"))
    for language in ("en", "fr"):
        data["entries"][0]["answer"][language] += f"\n\nSee {link}."
    (content / "iom.yml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(ContentError, match="links must be"):
        load_content(content)


def test_every_channel_is_built_on_the_base():
    from bot.channels.slack import HardenedSlackInput
    assert all(issubclass(c, FaqChannel) for c in (HardenedRestInput, HardenedSocketIOInput, HardenedSlackInput))


# ---------------------------------------------------------------------------------------------- live, own servers

# 8 messages a minute per client address. The servers trust one proxy's X-Forwarded-For, so each test plays
# a client address of its own (`client()`) and no test waits for another's bucket to refill.
LIMITS = {"CLIENT_MESSAGES_PER_MINUTE": "8", "CONVERSATION_MESSAGES_PER_MINUTE": "40", "MAX_QUEUED_TURNS": "3",
          "CLIENT_CONNECTIONS": "0", "PROXIES_COUNT": "1", "RASA_JWT_SECRET": "jwt-secret-not-on-the-command-line"}


def client() -> dict:
    return {"X-Forwarded-For": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"}


def ask(url: str, message: str, sender: str = None, headers: dict = None, **kwargs) -> requests.Response:
    body = json.dumps({"sender": new_sender() if sender is None else sender, "message": message})
    return requests.post(url + "/webhooks/rest/webhook", data=body, timeout=30,
                         headers={"Content-Type": "application/json", **(headers or client())}, **kwargs)


@pytest.fixture(scope="module")
def limited(bot_env, tmp_path_factory):
    """Servers of our own with low limits (8 messages a minute per address, in bursts of 2)."""
    env = dict(bot_env, **LIMITS, RASA_PORT=str(servers.free_port()), ACTION_PORT=str(servers.free_port()),
               TRACKER_DB=str(tmp_path_factory.mktemp("limited") / "tracker.db"))
    rasa, actions = start_servers(env, "limited")
    yield {"env": env, "rasa": rasa, "url": f"http://127.0.0.1:{env['RASA_PORT']}"}
    servers.stop(rasa)
    servers.stop(actions)


def test_bad_ids_on_every_channel_leave_the_server_answering(limited, slack_api):
    """Row 1: each bad id on each channel; the server still answers the next visitor."""
    url = limited["url"]
    for sender in ["\ud800", "a\x00b", "x" * 256]:
        assert ask(url, "hello", sender).status_code == 400
    with socketio_client(url, page_origin(limited["env"])) as (sio, confirmed, _):
        sio.emit("session_request", {"session_id": "\ud800"})
        assert confirmed.wait(10) and Signer(limited["env"]["SECRET_KEY"]).is_session_id(confirmed.session_id)
    dm = slack_channel_id("D")
    event = {"event": {"type": "message", "channel_type": "im", "channel": dm, "user": "U\ud800\x00",
                       "text": "What is IOM?", "ts": "1.1"}}
    assert send_slack_event(requests.Session(), url, event).status_code == 200
    assert limited["rasa"].poll() is None
    reply = ask(url, "What is IOM?")
    assert reply.status_code == 200 and "1951" in texts(reply.json())


def test_a_request_over_64_kb_gets_413_and_under_it_a_polite_too_long(limited):
    assert ask(limited["url"], "x" * 100_000).status_code == 413
    reply = ask(limited["url"], "x" * 10_000)
    assert reply.status_code == 200 and "too long" in texts(reply.json())
    assert limited["rasa"].poll() is None


def test_rest_clients_over_the_limit_get_429_and_widget_visitors_a_polite_message(limited):
    url, address = limited["url"], client()
    statuses = [ask(url, "hi", headers=address) for _ in range(4)]
    assert [s.status_code for s in statuses] == [200, 200, 429, 429]
    assert int(statuses[-1].headers["Retry-After"]) >= 1
    with socketio_session(url, page_origin(limited["env"]), headers=address) as (say, wait_for, _):
        say("What is IOM?")  # the same address, on another channel
        assert wait_for(1)[0]["text"] == CONTENT.message("slow_down", "en").strip()


def test_a_socket_cannot_join_or_speak_for_another_visitors_session(limited):
    url, origin = limited["url"], page_origin(limited["env"])
    with socketio_session(url, origin) as (say_a, replies_a, session_a):
        with socketio_client(url, origin) as (sio_b, confirmed_b, replies_b):
            sio_b.emit("session_request", {"session_id": session_a.split(".")[0]})  # unsigned: a new session
            assert confirmed_b.wait(10) and confirmed_b.session_id != session_a
            sio_b.emit("user_uttered", {"message": "What is IOM?", "session_id": session_a})  # not its session
            say_a("When was the Brussels office established?")
            assert "2011" in replies_a(1)[0]["text"]
            time.sleep(1)
            assert len(replies_a(1)) == 1  # B's message was ignored, and B hears nothing of A
            with pytest.raises(AssertionError):
                replies_b(1, timeout=1)


def test_rest_cannot_write_into_a_slack_conversation(limited):
    assert ask(limited["url"], "hi", "slack:U1").status_code == 200
    import sqlite3
    with sqlite3.connect(limited["env"]["TRACKER_DB"]) as db:
        senders = {row[0] for row in db.execute("SELECT DISTINCT sender_id FROM events")}
    assert "rest:slack:U1" in senders and "slack:U1" not in senders


def test_secrets_never_appear_on_a_command_line(limited):
    commands = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                commands.append(open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                continue
    rasa = [c for c in commands if "bot.server" in c and limited["env"]["RASA_PORT"] in c]
    assert rasa, "the Rasa process was not found"
    assert not [c for c in commands if LIMITS["RASA_JWT_SECRET"] in c or limited["env"]["SECRET_KEY"] in c]
    api = requests.get(limited["url"] + "/status", timeout=10)
    assert api.status_code == 401  # the API is on, secured by the secret passed inside the process


def test_nginx_limits_requests_per_client_in_front_of_rasa(limited):
    """The scale profile's nginx configuration, in front of these servers, with 8 requests a minute."""
    import shutil

    from tools.scale import Topology
    env = dict(limited["env"], LB_PORT=str(servers.free_port()), ACTIONS_LB_PORT=str(servers.free_port()),
               RASA_REPLICA_BASE_PORT=limited["env"]["RASA_PORT"],
               ACTION_REPLICA_BASE_PORT=limited["env"]["ACTION_PORT"], CLIENT_CONNECTIONS="5")
    base = ROOT / "var" / f"test-nginx-{uuid.uuid4().hex[:6]}"  # not pytest's 0700 tmp: workers run unprivileged
    topology = Topology(env, replicas=1, actions=1, base_dir=base)
    topology.start_nginx()
    try:
        time.sleep(8)  # nginx's bucket for this address refills after the start-up check used it
        codes = [requests.post(f"{topology.url}/webhooks/rest/webhook", json={"sender": new_sender(),
                               "message": "hi"}, timeout=30).status_code for _ in range(6)]
        assert codes[0] == 200 and codes[-1] == 429, codes
    finally:
        topology.stop("nginx")
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- row 16

def port_free(port: str) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", int(port))) != 0


@pytest.mark.parametrize("shell", [True, False], ids=["make shell", "make run"])
def test_sighup_stops_both_servers_and_frees_the_ports(bot_env, tmp_path, shell):
    env = dict(bot_env, RASA_PORT=str(servers.free_port()), ACTION_PORT=str(servers.free_port()),
               WEB_PORT=str(servers.free_port()), TRACKER_DB=str(tmp_path / "tracker.db"), TERM="xterm")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    child = pexpect.spawn(sys.executable, ["-m", "bot.run", *(["--shell"] if shell else [])], cwd=str(ROOT), env=env,
                          encoding="utf-8", timeout=240, dimensions=(40, 120))
    child.logfile_read = open(LOG_DIR / f"sighup-{'shell' if shell else 'run'}.log", "w")
    try:
        child.expect("Your input ->" if shell else "is ready")
        assert not port_free(env["ACTION_PORT"])
        os.kill(child.pid, signal.SIGHUP)  # as when the terminal closes
        child.expect(pexpect.EOF, timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (port_free(env["ACTION_PORT"]) and port_free(env["RASA_PORT"])):
            time.sleep(0.5)
        assert port_free(env["ACTION_PORT"]) and port_free(env["RASA_PORT"])
        leftovers = subprocess.run(["pgrep", "-f", f"--port {env['ACTION_PORT']}"], capture_output=True, text=True)
        assert leftovers.stdout.strip() == ""
    finally:
        child.close(force=True)

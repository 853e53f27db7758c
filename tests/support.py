"""Helpers shared by the test modules (fixtures are in conftest.py): clients for each channel, the Slack Web
API stand-in, and readers of what Rasa stored. Test modules import from here, never from each other."""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import shutil
import sqlite3
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Set, Tuple
from urllib.parse import parse_qs, urlencode

import requests
import yaml

from bot import servers
from bot.settings import ROOT

MODEL = ROOT / "models" / "iom.tar.gz"
LOG_DIR = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags for a closed network: without the background-networking ones Chromium keeps dialling Google.
# LocalNetworkAccessChecks: a page fulfilled by page.route (the French copy of the demo page) has no address,
# so Chromium counts it as public and refuses its sockets to Rasa on 127.0.0.1.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-features=LocalNetworkAccessChecks"]
SLACK_TOKEN = "xoxb-test-token"
SLACK_SIGNING_SECRET = "test-signing-secret"
SLACK_BOT_USER = "UBOT"
# The scale profile's topology in tests (tests/conftest.py `scale_postgres`, tests/test_scale.py).
SCALE_REPLICAS, SCALE_ACTIONS = 2, 2
# Servers that tests load from one address at test speed (fuzzing, 50 concurrent conversations) run without
# rate limits; the tests of the limits configure their own channels or servers.
NO_RATE_LIMITS = {"CLIENT_MESSAGES_PER_MINUTE": "0", "CONVERSATION_MESSAGES_PER_MINUTE": "0",
                  "MAX_QUEUED_TURNS": "100", "CLIENT_CONNECTIONS": "0"}


# ---------------------------------------------------------------------------------------------- servers

@dataclass
class RunningBot:
    env: Dict[str, str]
    rasa: subprocess.Popen
    actions: subprocess.Popen
    session: requests.Session

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env['RASA_PORT']}"

    @property
    def page_url(self) -> str:
        return f"http://127.0.0.1:{self.env['WEB_PORT']}/"

    @property
    def webhook(self) -> str:
        return self.base_url + "/webhooks/rest/webhook"

    def ask(self, message, sender: Optional[str] = None, timeout: float = 30) -> List[dict]:
        response = self.session.post(self.webhook, json={"sender": sender or new_sender(), "message": message},
                                     timeout=timeout)
        assert response.status_code == 200, response.text
        return response.json()


def new_sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def start_servers(env: Dict[str, str], name: str) -> Tuple[subprocess.Popen, subprocess.Popen]:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = open(LOG_DIR / f"{name}.log", "ab")
    actions = servers.start(servers.action_server_command(env), env, stdout=log, stderr=subprocess.STDOUT)
    rasa = servers.start(servers.rasa_command(env), env, stdout=log, stderr=subprocess.STDOUT)
    try:
        servers.wait_http(servers.action_health_url(env), servers.ACTIONS_START_TIMEOUT_S, actions)
        servers.wait_http(servers.rasa_health_url(env), servers.RASA_START_TIMEOUT_S, rasa)
    except Exception:
        servers.stop(rasa)
        servers.stop(actions)
        raise
    return rasa, actions


def config_thresholds() -> Tuple[float, float]:
    """The fallback threshold and ambiguity threshold configured in config.yml."""
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    fallback = next(c for c in config["pipeline"] if c["name"].endswith("FallbackClassifier"))
    return float(fallback["threshold"]), float(fallback["ambiguity_threshold"])


# ---------------------------------------------------------------------------------------------- replies

def texts(messages: List[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def buttons(messages: List[dict]) -> List[dict]:
    return [b for m in messages for b in m.get("buttons") or []]


def recorded_user_turns(bot, sender, wait: float = 10, count: int = 1) -> List[dict]:
    """The user events Rasa stored for the conversation id `sender` (`<channel>:<id>`, read from the SQLite
    tracker store). Replies go out before Rasa saves the turn, so wait up to `wait` seconds for `count`."""
    deadline = time.monotonic() + wait
    while True:
        with sqlite3.connect(bot.env["TRACKER_DB"]) as db:
            rows = db.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id",
                              (sender,)).fetchall()
        if len(rows) >= count or time.monotonic() > deadline:
            return [json.loads(row[0]) for row in rows]
        time.sleep(0.1)


def stored_slot_values(db_path: str, sender: str, slot: str, count: int = 1, wait: float = 10) -> List[Any]:
    """The values of every `slot` event Rasa stored for the conversation id `sender` in the SQLite tracker
    store at `db_path`, in order, waiting up to `wait` seconds until there are at least `count`."""
    deadline = time.monotonic() + wait
    while True:
        with sqlite3.connect(db_path) as db:
            rows = db.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'slot' ORDER BY id",
                              (sender,)).fetchall()
        values = [event["value"] for event in map(json.loads, (row[0] for row in rows)) if event["name"] == slot]
        if len(values) >= count or time.monotonic() > deadline:
            return values
        time.sleep(0.1)


def parsed_through_nlu(turn: dict) -> bool:
    """An intent command (`/intent{...}`) yields exactly one ranked intent; NLU ranks many."""
    return len(turn["parse_data"]["intent_ranking"]) > 1 and not [
        e for e in turn["parse_data"]["entities"] if e.get("extractor") == "RegexMessageHandler"]


def log_lines(path: Path, needle: str, wait: float = 10) -> List[str]:
    """Lines of a server log containing `needle`, waiting up to `wait` seconds for the first one."""
    deadline = time.monotonic() + wait
    while True:
        lines = [line for line in path.read_text(errors="replace").splitlines() if needle in line]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


# ---------------------------------------------------------------------------------------------- socket.io

class Confirmation(threading.Event):
    """Set when the server confirms a session; `session_id` is the id it issued."""
    session_id: Optional[str] = None


@contextlib.contextmanager
def socketio_client(base_url: str, origin: str, headers: Optional[Dict[str, str]] = None
                    ) -> Iterator[Tuple[object, Confirmation, Callable]]:
    """A connected python-socketio client (polling: Rasa pins aiohttp < 3.10): (sio, confirmed, wait_for)."""
    import socketio
    sio = socketio.Client(reconnection=False)
    replies: List[dict] = []
    confirmed = Confirmation()
    got = threading.Condition()

    @sio.on("session_confirm")
    def on_confirm(session_id):
        confirmed.session_id = session_id
        confirmed.set()

    @sio.on("bot_uttered")
    def on_bot(data):
        with got:
            replies.append(data)
            got.notify_all()

    def wait_for(n: int, timeout: float = 20) -> List[dict]:
        with got:
            assert got.wait_for(lambda: len(replies) >= n, timeout), f"no reply after {timeout} s: {replies}"
        return replies

    sio.connect(base_url, socketio_path="/socket.io", transports=["polling"], headers={"Origin": origin,
                **(headers or {})}, wait_timeout=10)
    try:
        yield sio, confirmed, wait_for
    finally:
        sio.disconnect()


@contextlib.contextmanager
def socketio_session(base_url: str, origin: str, resume: Optional[str] = None,
                     headers: Optional[Dict[str, str]] = None):
    """A connected socket with a session the server confirmed (a new one, or `resume` if the server accepts
    it): yields (say, wait_for, session_id)."""
    with socketio_client(base_url, origin, headers) as (sio, confirmed, wait_for):
        sio.emit("session_request", {"session_id": resume})
        assert confirmed.wait(10)
        session_id = confirmed.session_id
        yield (lambda text: sio.emit("user_uttered", {"message": text, "session_id": session_id})), wait_for, \
            session_id


def page_origin(env: Dict[str, str]) -> str:
    return f"http://127.0.0.1:{env['WEB_PORT']}"


# ---------------------------------------------------------------------------------------------- Slack

class SlackWebAPI:
    """A local stand-in for Slack's Web API (slack.com is unreachable here): records every call (POST and GET),
    answers chat.postMessage with a timestamp, users.info with the locale set in `locales` (or, for a user in
    `failing_users`, with Slack's error for a token without the `users:read` scope), and chat.getPermalink
    with a link."""

    def __init__(self) -> None:
        self.posts: List[dict] = []
        self.locales: Dict[str, str] = {}
        self.failing_users: Set[str] = set()
        self.changed = threading.Condition()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self, data: dict) -> None:
                method = self.path.split("?", 1)[0].rsplit("/", 1)[-1]
                with api.changed:
                    api.posts.append({"method": method, "auth": self.headers.get("Authorization"), **data})
                    api.changed.notify_all()
                reply: Dict[str, object] = {"ok": True, "channel": data.get("channel"), "ts": f"{time.time():.6f}"}
                if method == "users.info":
                    user = str(data.get("user"))
                    reply["user"] = {"id": user, "locale": api.locales.get(user, "en-US")}
                    if user in api.failing_users:
                        reply = {"ok": False, "error": "missing_scope", "needed": "users:read"}
                if method == "chat.getPermalink":
                    reply["permalink"] = (f"https://example.slack.com/archives/{data.get('channel')}/"
                                          f"p{data.get('message_ts')}")
                body = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                kind = self.headers.get("Content-Type", "")
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()} if "json" not in kind else {}
                self._record(json.loads(body) if "json" in kind else form)

            def do_GET(self):
                query = self.path.split("?", 1)[1] if "?" in self.path else ""
                self._record({k: v[0] for k, v in parse_qs(query).items()})

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def wait_for(self, predicate, timeout=30, method="chat.postMessage") -> List[dict]:
        """The calls of `method` matching `predicate`, waiting up to `timeout` seconds for a first one."""
        def matching() -> List[dict]:
            return [p for p in self.posts if p["method"] == method and predicate(p)]
        with self.changed:
            assert self.changed.wait_for(matching, timeout), self.posts
            return matching()

    def posts_to(self, channel: str) -> List[dict]:
        return [p for p in self.posts if p.get("channel") == channel and p["method"] == "chat.postMessage"]

    def wait_posts_to(self, channel: str, count: int, timeout: float = 30) -> List[dict]:
        """The messages posted to `channel`, once there are at least `count` (waiting up to `timeout` s)."""
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.posts_to(channel)) >= count, timeout), \
                self.posts_to(channel)
            return self.posts_to(channel)

    def calls(self, method: str, **fields: str) -> List[dict]:
        """The calls of `method` so far whose fields include `fields` (e.g. user="U1")."""
        with self.changed:
            return [p for p in self.posts if p["method"] == method and all(p.get(k) == v for k, v in fields.items())]


def block_buttons(post: dict) -> List[Tuple[str, str]]:
    """(title, value) of every button in a chat.postMessage's Block Kit blocks."""
    return [(e["text"]["text"], e["value"]) for block in post.get("blocks") or [] if block["type"] == "actions"
            for e in block["elements"]]


def slack_signature(body: bytes, secret: str = SLACK_SIGNING_SECRET, timestamp: Optional[int] = None) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def slack_event_body(event: dict) -> bytes:
    return json.dumps({"type": "event_callback", "event_id": f"Ev{uuid.uuid4().hex[:10]}",
                       "authorizations": [{"user_id": SLACK_BOT_USER}], **event}).encode()


def send_slack_event(session: requests.Session, base_url: str, event: dict, headers=None, sign=True, **signing):
    body = slack_event_body(event)
    all_headers = {"Content-Type": "application/json", **(slack_signature(body, **signing) if sign else {}),
                   **(headers or {})}
    return session.post(base_url + "/webhooks/slack/webhook", data=body, headers=all_headers, timeout=10)


def click_slack_button(session: requests.Session, base_url: str, user: str, channel: str, value: str,
                       message_ts: str = "5.1", thread_ts: Optional[str] = None, trigger_id: Optional[str] = None,
                       headers: Optional[Dict[str, str]] = None) -> requests.Response:
    """A signed `block_actions` interaction, as Slack sends it when `user` clicks a button worth `value` on the
    bot's message `message_ts` (in the thread `thread_ts`, if any)."""
    payload = {"type": "block_actions", "user": {"id": user}, "channel": {"id": channel},
               "trigger_id": trigger_id or uuid.uuid4().hex,
               "message": {"ts": message_ts, **({"thread_ts": thread_ts} if thread_ts else {})},
               "actions": [{"type": "button", "action_id": "faq_0", "value": value, "action_ts": f"{time.time():.6f}"}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return session.post(base_url + "/webhooks/slack/webhook", data=body, timeout=10,
                        headers={"Content-Type": "application/x-www-form-urlencoded", **slack_signature(body),
                                 **(headers or {})})


def slack_channel_id(prefix: str = "C") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


# ---------------------------------------------------------------------------------------------- in-process

class FakeRasa:
    """Stands in for Rasa's `on_new_message` in in-process channel tests: answers `reply(text)` through the
    output channel the way Rasa does (`send_response`, with the action's TurnRecord), or raises/hangs."""

    def __init__(self) -> None:
        self.received: List[object] = []
        self.behaviour = "answer"  # answer | silent | raise | hang

    async def __call__(self, message) -> None:
        import asyncio

        from bot.protocol import TURN_KEY, ReplyKind, TurnRecord
        self.received.append(message)
        if self.behaviour == "raise":
            raise RuntimeError("boom")
        if self.behaviour == "hang":
            await asyncio.sleep(3600)
        if self.behaviour == "answer":
            record = TurnRecord("ask_iom", 0.9, "iom_about", ReplyKind.ANSWER).to_dict()
            await message.output_channel.send_response(message.sender_id,
                                                       {"text": f"echo: {message.text}", TURN_KEY: record})


class ChannelApp:
    """Our input channels mounted on a Sanic app the way Rasa mounts them (`rasa.core.channels.register`),
    driven in-process through ASGI: no server, no port, no model."""

    def __init__(self, channels: list, rasa: FakeRasa) -> None:
        import asyncio
        from types import SimpleNamespace

        import httpx2
        from rasa.core.channels.channel import register
        from sanic import Sanic
        self.loop = asyncio.new_event_loop()
        Sanic.test_mode = True  # as sanic-testing does: start-up may then run once per app, not once per process
        self.app = Sanic(f"test_{uuid.uuid4().hex[:8]}")
        self.app.ctx.agent = SimpleNamespace(handle_message=rasa)
        register(channels, self.app, route="/webhooks/")
        self.loop.run_until_complete(self.app._startup())
        self.client = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=self.app), base_url="http://testserver")

    def request(self, method: str, path: str, **kwargs):
        return self.loop.run_until_complete(self.client.request(method, path, **kwargs))

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()

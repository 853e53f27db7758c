"""Shared fixtures. `bot` starts the real action server and Rasa server once per test session."""
from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import pytest
import requests

from bot.tools import servers

ROOT = servers.ROOT
MODEL = ROOT / "models" / "iom.tar.gz"
LOG_DIR = ROOT / "tests" / "artifacts"


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

    def ask(self, message, sender: str = None, timeout: float = 30) -> List[dict]:
        response = self.session.post(self.webhook, json={"sender": sender or new_sender(), "message": message},
                                     timeout=timeout)
        assert response.status_code == 200, response.text
        return response.json()


def new_sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def start_servers(env: Dict[str, str], name: str):
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = open(LOG_DIR / f"{name}.log", "ab")
    actions = servers.start(servers.action_server_command(env), env, stdout=log, stderr=subprocess.STDOUT)
    rasa = servers.start(servers.rasa_command(env), env, stdout=log, stderr=subprocess.STDOUT)
    try:
        servers.wait_http(servers.action_health_url(env), 120, actions)
        servers.wait_http(servers.rasa_health_url(env), 300, rasa)
    except Exception:
        servers.stop(rasa)
        servers.stop(actions)
        raise
    return rasa, actions


class SlackWebAPI:
    """A local stand-in for Slack's Web API (slack.com is unreachable here): records chat.postMessage."""

    def __init__(self):
        self.posts: List[dict] = []
        self.changed = threading.Condition()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                kind = self.headers.get("Content-Type", "")
                data = json.loads(body) if "json" in kind else {k: v[0] for k, v in parse_qs(body.decode()).items()}
                with api.changed:
                    api.posts.append({"method": self.path.rsplit("/", 1)[-1], "auth": self.headers.get("Authorization"),
                                      **data})
                    api.changed.notify_all()
                reply = json.dumps({"ok": True, "channel": data.get("channel"), "ts": f"{time.time():.6f}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def wait_for(self, predicate, timeout=30) -> List[dict]:
        with self.changed:
            assert self.changed.wait_for(lambda: [p for p in self.posts if predicate(p)], timeout), self.posts
            return [p for p in self.posts if predicate(p)]


SLACK_TOKEN = "xoxb-test-token"
SLACK_SIGNING_SECRET = "test-signing-secret"


@pytest.fixture(scope="session")
def slack_api() -> SlackWebAPI:
    api = SlackWebAPI()
    yield api
    api.server.shutdown()


@pytest.fixture(scope="session")
def bot_env(tmp_path_factory, slack_api) -> Dict[str, str]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run the tests through `make test`, which trains it")
    return servers.settings({
        "RASA_PORT": str(servers.free_port()), "ACTION_PORT": str(servers.free_port()), "BIND": "127.0.0.1",
        "WEB_PORT": str(servers.free_port()), "SLACK_TOKEN": SLACK_TOKEN,
        "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET, "SLACK_API_URL": slack_api.url,
        "TRACKER_DB": str(tmp_path_factory.mktemp("tracker") / "tracker.db"), "MODEL": str(MODEL),
    })


@pytest.fixture(scope="session")
def bot(bot_env) -> RunningBot:
    rasa, actions = start_servers(bot_env, "servers")
    page = servers.start_web(bot_env)
    with requests.Session() as session:
        running = RunningBot(bot_env, rasa, actions, session)
        yield running
    page.shutdown()
    servers.stop(running.rasa)
    servers.stop(running.actions)


def texts(messages: List[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def buttons(messages: List[dict]) -> List[dict]:
    return [b for m in messages for b in m.get("buttons") or []]


def recorded_user_turns(bot, sender, wait: float = 10) -> List[dict]:
    """The user events Rasa stored for `sender` (read from the SQLite tracker store). Replies go out before
    Rasa saves the turn, so wait up to `wait` seconds for it to appear."""
    import sqlite3
    deadline = time.monotonic() + wait
    while True:
        with sqlite3.connect(bot.env["TRACKER_DB"]) as db:
            rows = db.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id",
                              (sender,)).fetchall()
        if rows or time.monotonic() > deadline:
            return [json.loads(row[0]) for row in rows]
        time.sleep(0.1)


def parsed_through_nlu(turn: dict) -> bool:
    """An intent command (`/intent{...}`) yields exactly one ranked intent; NLU ranks many."""
    return len(turn["parse_data"]["intent_ranking"]) > 1 and not [
        e for e in turn["parse_data"]["entities"] if e.get("extractor") == "RegexMessageHandler"]

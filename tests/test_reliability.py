"""Faults and load: action server down or hung, Rasa killed, concurrent conversations, huge messages."""
from __future__ import annotations

import concurrent.futures
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest
import requests

from bot import servers
from bot.answers.content_store import load_content
from bot.settings import ROOT
from tests.support import LOG_DIR, new_sender, start_servers, texts

CONTENT = load_content()
TRY_AGAIN = CONTENT.message("try_again", "en").strip()
JWT_SECRET = "test-jwt-secret"


@pytest.fixture(scope="module")
def own_bot(bot_env, tmp_path_factory):
    """A private server pair this module may break (the shared `bot` stays healthy)."""
    env = dict(bot_env, RASA_PORT=str(servers.free_port()), ACTION_PORT=str(servers.free_port()),
               TRACKER_DB=str(tmp_path_factory.mktemp("faults") / "tracker.db"), RASA_JWT_SECRET=JWT_SECRET)
    rasa, actions = start_servers(env, "faults")
    state = {"env": env, "rasa": rasa, "actions": actions}
    yield state
    servers.stop(state["rasa"])
    servers.stop(state["actions"])


def ask(env, message, sender, timeout=30):
    url = f"http://127.0.0.1:{env['RASA_PORT']}/webhooks/rest/webhook"
    started = time.monotonic()
    reply = requests.post(url, json={"sender": sender, "message": message}, timeout=timeout)
    assert reply.status_code == 200
    return texts(reply.json()), time.monotonic() - started


def restart_actions(state):
    log = open(LOG_DIR / "faults.log", "ab")
    state["actions"] = servers.start(servers.action_server_command(state["env"]), state["env"], stdout=log,
                                     stderr=subprocess.STDOUT)
    servers.wait_http(servers.action_health_url(state["env"]), 120, state["actions"])


def test_action_server_down_gives_try_again_then_recovers(own_bot):
    env, sender = own_bot["env"], new_sender()
    assert "2011" in ask(env, "When was the Brussels office established?", sender)[0]
    servers.stop(own_bot["actions"])
    text, elapsed = ask(env, "What is IOM?", sender)
    assert text.strip() == TRY_AGAIN and elapsed < 10
    assert "turn without an answer" in (LOG_DIR / "faults.log").read_text()
    restart_actions(own_bot)
    assert "1951" in ask(env, "What is IOM?", sender)[0]


def test_hung_action_server_answers_within_10_s_and_conversation_goes_on(own_bot):
    env, sender = own_bot["env"], new_sender()
    servers.stop(own_bot["actions"])
    hung = socket.socket()
    hung.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    hung.bind(("127.0.0.1", int(env["ACTION_PORT"])))
    hung.listen(16)  # accepts connections, never answers
    try:
        text, elapsed = ask(env, "What is IOM?", sender)
        assert text.strip() == TRY_AGAIN and elapsed < 10, elapsed
    finally:
        hung.close()
    restart_actions(own_bot)
    assert "1951" in ask(env, "What is IOM?", sender)[0]
    assert "September 2011" in ask(env, "when was the office established?", sender)[0]


def test_huge_message_is_refused_before_nlu_while_others_are_answered(own_bot):
    """A 1 MB body is refused by the server's request size cap (413) before any of it reaches NLU (stock Rasa
    spends 21.8 s on NLU for it, blocking everyone); meanwhile other visitors keep being answered. How fast
    the refusal is, is measured by `make bench`."""
    env = own_bot["env"]
    url = f"http://127.0.0.1:{env['RASA_PORT']}/webhooks/rest/webhook"
    answers, stop = [], threading.Event()

    def chatter():
        while not stop.is_set():
            answers.append(ask(env, "Who are the partners?", new_sender())[0])

    thread = threading.Thread(target=chatter)
    thread.start()
    try:
        huge_sender = new_sender()
        for _ in range(5):
            response = requests.post(url, json={"sender": huge_sender, "message": "x" * 1_000_000}, timeout=30)
            assert response.status_code == 413
    finally:
        stop.set()
        thread.join()
    assert answers and all("NGO" in a for a in answers)
    import sqlite3
    with sqlite3.connect(env["TRACKER_DB"]) as db:
        stored = db.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (f"rest:{huge_sender}",)).fetchone()[0]
    assert stored == 0  # never reached NLU or the tracker


def test_50_concurrent_conversations_have_no_cross_talk(bot):
    topics = {"What is IOM?": ("when was it founded?", "1951"),
              "Tell me about the Brussels office": ("when was it founded?", "2011")}

    def conversation(i):
        opener = list(topics)[i % 2]
        follow_up, expected = topics[opener]
        sender = f"conc-{i}-{uuid.uuid4().hex[:6]}"
        bot_session = requests.Session()
        url = bot.webhook
        bot_session.post(url, json={"sender": sender, "message": opener}, timeout=60).raise_for_status()
        reply = bot_session.post(url, json={"sender": sender, "message": follow_up}, timeout=60).json()
        return expected in texts(reply) and ({"1951", "2011"} - {expected}).isdisjoint(texts(reply).split())

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        results = list(pool.map(conversation, range(50)))
    assert sum(results) == 50, results


def test_conversation_survives_sigkill_of_rasa(own_bot):
    env, sender = own_bot["env"], new_sender()
    assert "liaison" in ask(env, "What does the Brussels office do?", sender)[0]
    assert "September 2011" in ask(env, "when was it established?", sender)[0]
    own_bot["rasa"].send_signal(signal.SIGKILL)
    own_bot["rasa"].wait()
    log = open(LOG_DIR / "faults.log", "ab")
    own_bot["rasa"] = servers.start(servers.rasa_command(env), env, stdout=log, stderr=subprocess.STDOUT)
    servers.wait_http(servers.rasa_health_url(env), 300, own_bot["rasa"])
    why = ask(env, "why then?", sender)[0]
    assert "Lisbon" in why
    more = ask(env, "tell me more", sender)[0]
    assert CONTENT.entries["office_context"].title["en"] in more  # the topic slot survived
    import sqlite3
    with sqlite3.connect(env["TRACKER_DB"]) as db:
        users = db.execute("SELECT COUNT(*) FROM events WHERE sender_id = ? AND type_name = 'user'",
                           (f"rest:{sender}",)).fetchone()[0]
    assert users == 4  # no turn lost


def test_make_run_fails_fast_on_broken_content(tmp_path):
    import shutil
    content = tmp_path / "content"
    shutil.copytree(ROOT / "bot" / "content", content)
    (content / "iom.yml").write_text("entries:\n  - id: iom_about\n    answer: [oops\n", encoding="utf-8")
    env = servers.environment({"IOM_CONTENT_DIR": str(content), "RASA_PORT": str(servers.free_port()),
                            "ACTION_PORT": str(servers.free_port())})
    started = time.monotonic()
    result = subprocess.run([str(servers.VENV_BIN / "python"), "-m", "bot.run"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and time.monotonic() - started < 30
    assert "iom.yml" in result.stderr and "malformed YAML at line" in result.stderr


def test_tracker_store_failure_is_loud_and_answers_try_again(own_bot):
    env, sender = own_bot["env"], new_sender()
    assert "liaison" in ask(env, "What does the Brussels office do?", sender)[0]
    db_path = env["TRACKER_DB"]
    original = open(db_path, "rb").read()
    with open(db_path, "r+b") as db:  # break the database under the running server
        db.write(b"\0" * 4096)
    try:
        text, elapsed = ask(env, "when was it established?", sender)
        assert text.strip() == TRY_AGAIN and elapsed < 10
        assert "TRACKER STORE UNAVAILABLE" in (LOG_DIR / "faults.log").read_text()
    finally:
        with open(db_path, "r+b") as db:
            db.write(original)
    # Back without a restart, and the conversation was not forgotten: "tell me more" still has its topic.
    assert ask(env, "tell me more", sender)[0].strip() == CONTENT.entries["office_role"].more["en"].strip()


def test_http_api_is_off_by_default_and_needs_a_jwt_when_enabled(bot, own_bot):
    assert requests.get(bot.base_url + "/status", timeout=10).status_code == 404
    api = f"http://127.0.0.1:{own_bot['env']['RASA_PORT']}"
    assert requests.get(api + "/status", timeout=10).status_code == 401
    assert requests.get(api + "/conversations/x/tracker", timeout=10).status_code == 401
    import jwt
    token = jwt.encode({"user": {"username": "ops", "role": "admin"}}, JWT_SECRET, algorithm="HS256")
    assert requests.get(api + "/status", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
    forged = jwt.encode({"user": {"username": "ops", "role": "admin"}}, "wrong", algorithm="HS256")
    assert requests.get(api + "/status", headers={"Authorization": f"Bearer {forged}"}, timeout=10).status_code == 401


def test_servers_listen_on_loopback_only(own_bot):
    listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
    for port in (own_bot["env"]["ACTION_PORT"], own_bot["env"]["RASA_PORT"]):
        addresses = {line.split()[3] for line in listening.splitlines() if line.split()[3].endswith(f":{port}")}
        assert addresses == {f"127.0.0.1:{port}"}, addresses

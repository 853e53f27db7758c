"""The scale profile for real: PostgreSQL, Redis, 2 Rasa replicas, 2 action servers and nginx on loopback.

One topology (tools/scale.py, the same code as `make scale-up`) is started for this module on free ports,
with its data in a temporary directory. Figures are printed (`pytest -s` shows them) and asserted.
"""
from __future__ import annotations

import asyncio
import json
import multiprocessing
import shutil
import signal
import time
import uuid
from typing import Dict, List

import aiohttp
import psycopg2
import pytest
import redis
import requests

from bot.settings import ROOT
from tests.support import (
    LOG_DIR,
    MODEL,
    SLACK_SIGNING_SECRET,
    SLACK_TOKEN,
    page_origin,
    send_slack_event,
    slack_channel_id,
    socketio_session,
    texts,
)
from tools.scale import Topology, free_ports, scale_settings

pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make test`")
REPLICAS = 2


@pytest.fixture(scope="module")
def scale(slack_api) -> Topology:
    # Under var/ (not pytest's 0700 tmp dirs): PostgreSQL runs as `postgres` and must reach its data directory.
    base = ROOT / "var" / f"test-scale-{uuid.uuid4().hex[:6]}"
    ports = free_ports(REPLICAS, 2)
    slack = {"SLACK_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET, "SLACK_API_URL": slack_api.url}
    topology = Topology(scale_settings(base, {**ports, **slack, "MODEL": str(MODEL)}), REPLICAS, 2, base)
    try:
        topology.up()
        yield topology
    finally:
        topology.down()
        shutil.copytree(topology.logs, LOG_DIR / "scale-logs", dirs_exist_ok=True)
        shutil.rmtree(base, ignore_errors=True)


def user_texts(scale: Topology, sender: str) -> List[str]:
    with psycopg2.connect(**scale.pg_connect()) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT data FROM events WHERE sender_id = %s AND type_name = 'user' ORDER BY id", (sender,))
        return [json.loads(data)["text"] for (data,) in cursor.fetchall()]


def event_kinds(scale: Topology, sender: str) -> List[str]:
    with psycopg2.connect(**scale.pg_connect()) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT type_name, action_name FROM events WHERE sender_id = %s ORDER BY id", (sender,))
        return [f"{t}:{a}" if t == "action" else t for t, a in cursor.fetchall()]


def served_turns(scale: Topology, i: int) -> int:
    return (scale.logs / f"rasa-{i}.log").read_text(errors="replace").count("iom.turns")


def ask(url: str, sender: str, text: str) -> List[dict]:
    response = requests.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_context_follow_ups_work_whichever_replica_serves_the_turn(scale):
    before = [served_turns(scale, i) for i in range(REPLICAS)]
    for _ in range(6):
        sender = f"scale-{uuid.uuid4().hex[:8]}"
        assert "2011" in texts(ask(scale.url, sender, "When was the Brussels office established?"))
        assert "Lisbon" in texts(ask(scale.url, sender, "why then?"))
        assert "1951" in texts(ask(scale.url, sender, "What is IOM?"))
        assert "1951" in texts(ask(scale.url, sender, "and when was it founded?"))
    served = [served_turns(scale, i) - b for i, b in zip(range(REPLICAS), before, strict=True)]
    print(f"\nturns served per replica through nginx: {served}")
    assert all(n >= 6 for n in served), served  # round-robin: both replicas served follow-ups


def test_socket_io_sessions_stick_to_one_replica_through_nginx(scale):
    # The polling transport makes one HTTP request per exchange: all must reach the replica holding the session.
    with socketio_session(scale.url, page_origin(scale.env)) as (say, wait_for, _):
        say("When was the Brussels office established?")
        assert "2011" in wait_for(1)[0]["text"]
        say("why then?")
        assert "Lisbon" in wait_for(2)[1]["text"]


def test_a_slack_retry_reaching_the_other_replica_is_not_answered_twice(scale, slack_api):
    dm = slack_channel_id("D")
    event = {"event": {"type": "message", "channel_type": "im", "channel": dm, "user": "U9",
                       "text": "What is IOM?", "ts": "9.1"}, "event_id": f"Ev{uuid.uuid4().hex[:10]}"}
    with requests.Session() as session:
        first = send_slack_event(session, scale.replica_url(0), event)
        assert first.status_code == 200 and "X-Slack-No-Retry" not in first.headers
        slack_api.wait_for(lambda p: p.get("channel") == dm)
        retry = send_slack_event(session, scale.replica_url(1), event,
                                 headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"})
    # The duplicate is recognised before any answer is scheduled, and says so with this header.
    assert retry.status_code == 200 and retry.headers.get("X-Slack-No-Retry") == "1"
    assert len(slack_api.posts_to(dm)) == 1


# ------------------------------------------------------------------------------- lock order
def _critical_sections(redis_port: int, password: str, counter_key: str, rounds: int, overlaps_key: str) -> None:
    """One 'replica': `rounds` times, take the conversation's lock and do a read-modify-write in Redis."""
    from rasa.core.lock_store import LockError
    from rasa.utils.endpoints import EndpointConfig

    from bot.stores.lock_store import TicketRedisLockStore
    store = TicketRedisLockStore(EndpointConfig(url="127.0.0.1", port=redis_port, password=password, db=2))
    plain = redis.Redis(port=redis_port, password=password, db=2)

    async def one_section():
        async with store.lock("race-conversation", lock_lifetime=1, wait_time_in_seconds=0.005):
            if plain.incr(overlaps_key + ":inside") > 1:
                plain.incr(overlaps_key)  # someone else is inside the lock right now
            value = int(plain.get(counter_key) or 0)
            await asyncio.sleep(0.002)
            plain.set(counter_key, value + 1)
            plain.decr(overlaps_key + ":inside")

    async def run():
        for _ in range(rounds):
            try:
                await asyncio.wait_for(one_section(), 5)
            except LockError:
                plain.incr(overlaps_key + ":errors")  # the turn would have been refused
            except asyncio.TimeoutError:
                plain.incr(overlaps_key + ":stuck")  # the turn would have waited forever

    asyncio.run(run())


def lock_race(scale: Topology, rounds: int = 150) -> Dict[str, float]:
    port, password = int(scale.env["REDIS_PORT"]), scale.env["REDIS_PASSWORD"]
    plain = redis.Redis(port=port, password=password, db=2)
    plain.flushdb()
    key, overlaps = "count", "overlaps"
    context = multiprocessing.get_context("spawn")
    replicas = [context.Process(target=_critical_sections, args=(port, password, key, rounds, overlaps))
                for _ in range(2)]
    started = time.monotonic()
    for p in replicas:
        p.start()
    for p in replicas:
        p.join(120)
        assert p.exitcode == 0
    return {"expected": 2 * rounds, "counted": int(plain.get(key) or 0), "overlaps": int(plain.get(overlaps) or 0),
            "lock_errors": int(plain.get(overlaps + ":errors") or 0),
            "stuck": int(plain.get(overlaps + ":stuck") or 0), "seconds": round(time.monotonic() - started, 1)}


def test_ticket_lock_store_serialises_two_replicas(scale):
    ours = lock_race(scale)
    print(f"\n2 processes x 150 locked read-modify-writes with bot.stores.lock_store: {ours}")
    assert {k: v for k, v in ours.items() if k != "seconds"} == {"expected": 300, "counted": 300, "overlaps": 0,
                                                                 "lock_errors": 0, "stuck": 0}


def test_stock_redis_lock_store_hands_one_ticket_to_two_replicas(scale):
    """Why we ship our own lock store, shown deterministically: two replicas run the steps of Rasa's
    `RedisLockStore.issue_ticket` (read the lock, add a ticket, save it) interleaved as two processes can."""
    from rasa.core.lock_store import RedisLockStore
    port, password = int(scale.env["REDIS_PORT"]), scale.env["REDIS_PASSWORD"]
    replica_a, replica_b = (RedisLockStore(host="127.0.0.1", port=port, password=password, db=3) for _ in "ab")
    conversation = f"race-{uuid.uuid4().hex[:6]}"
    lock_a = replica_a.get_or_create_lock(conversation)
    lock_b = replica_b.get_or_create_lock(conversation)  # B reads before A has saved
    ticket_a = lock_a.issue_ticket(60)
    replica_a.save_lock(lock_a)
    ticket_b = lock_b.issue_ticket(60)
    replica_b.save_lock(lock_b)  # overwrites A's ticket
    assert ticket_a == ticket_b
    stored = replica_a.get_lock(conversation)
    assert not stored.is_locked(ticket_a) and not stored.is_locked(ticket_b)  # both turns would run at once


def test_alternating_replicas_process_a_fast_conversation_strictly_in_order(scale):
    """Turn k goes to replica k % 2 as soon as turn k-1 holds its ticket (turns queue up, several in flight);
    the stored conversation must have every turn once, in sending order, each turn's events contiguous."""
    sender, turns = f"order-{uuid.uuid4().hex[:8]}", 30
    plain = redis.Redis(port=int(scale.env["REDIS_PORT"]), password=scale.env["REDIS_PASSWORD"], db=1)
    counter = f"iom:lock:{sender}:next"

    async def run():
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            async def send(k):
                url = f"{scale.replica_url(k % REPLICAS)}/webhooks/rest/webhook"
                async with session.post(url, json={"sender": sender, "message": f"What is IOM? (question {k})"}) as r:
                    return r.status, await r.json()
            pending = []
            for k in range(turns):
                pending.append(asyncio.ensure_future(send(k)))
                deadline = time.monotonic() + 10
                while int(plain.get(counter) or 0) < k + 1 and time.monotonic() < deadline:
                    await asyncio.sleep(0.001)  # wait until turn k holds its ticket, then send the next
            return await asyncio.gather(*pending)

    started = time.monotonic()
    results = asyncio.run(run())
    elapsed = time.monotonic() - started
    assert all(status == 200 for status, _ in results)
    # Every turn answered (what it answered is the NLU's business, not the lock's): none timed out waiting.
    assert all(texts(body).strip() and "try again" not in texts(body).lower() for _, body in results)
    stored = user_texts(scale, sender)
    assert stored == [f"What is IOM? (question {k})" for k in range(turns)]
    kinds = [k for k in event_kinds(scale, sender) if k in ("user", "bot", "action:action_answer",
                                                              "action:action_listen")]
    turn_pattern = ["user", "action:action_answer", "bot", "action:action_listen"]
    body = kinds[kinds.index("user"):]
    assert body == turn_pattern * turns  # no interleaving: each turn ran alone
    print(f"\n{turns} alternating turns in {elapsed:.1f} s: all stored once, in order, none interleaved")


# ------------------------------------------------------------------------------- failures
def test_killing_a_replica_mid_load_loses_no_turn(scale):
    conversations = 20
    turn_texts = ["Hello", "What does the Brussels office do?", "when was it established?", "why then?",
                  "Who are the partners?", "What is IOM?", "thanks", "What are the priorities?"]
    figures = {"answered": 0, "errors": 0, "retried_ok": 0, "try_again": 0}
    victim = 1

    async def converse(session, sender):
        for text in turn_texts:
            for attempt in range(3):
                try:
                    async with session.post(f"{scale.url}/webhooks/rest/webhook",
                                            json={"sender": sender, "message": text}) as r:
                        status, body = r.status, (await r.json() if r.status == 200 else None)
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    status, body = "connection", None
                if status == 200:
                    figures["answered"] += 1
                    figures["retried_ok"] += attempt > 0
                    figures["try_again"] += "try again" in texts(body).lower()
                    break
                figures["errors"] += 1  # in flight on the killed replica: reported to us, we retry
                await asyncio.sleep(0.5)

    async def run():
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            senders = [f"kill-{uuid.uuid4().hex[:8]}" for _ in range(conversations)]
            tasks = [asyncio.ensure_future(converse(session, s)) for s in senders]
            await asyncio.sleep(1.5)
            scale.kill_replica(victim)
            killed_at = time.monotonic()
            await asyncio.gather(*tasks)
            return senders, killed_at

    started = time.monotonic()
    senders, killed_at = asyncio.run(run())
    try:
        lost = {s: [t for t in turn_texts if t not in user_texts(scale, s)] for s in senders}
        lost = {s: missing for s, missing in lost.items() if missing}
        duplicated = sum(len(user_texts(scale, s)) - len(turn_texts) for s in senders)
        print(f"\nkilled replica {victim} {killed_at - started:.1f} s into {conversations} conversations x "
              f"{len(turn_texts)} turns: {figures}; turns lost {len(lost)}, stored twice {duplicated}; "
              f"total {time.monotonic() - started:.1f} s")
        assert figures["answered"] == conversations * len(turn_texts)
        assert not lost
        assert figures["errors"] <= conversations  # at most the requests in flight on the killed replica
        assert figures["try_again"] == 0
    finally:
        scale.start_replica(victim)


def outage_then_recovery(scale, name, stop, start, log_marker, asks):
    """A conversation with context; `stop` the service: `asks` turns (round-robin over the replicas) get "try
    again" within 10 s and `log_marker` is logged; `start` it: `asks` turns answer with the context kept, and
    no replica was restarted."""
    pids = [scale.processes[f"rasa-{i}"].pid for i in range(REPLICAS)]
    sender = f"{name}-{uuid.uuid4().hex[:8]}"
    assert "2011" in texts(ask(scale.url, sender, "When was the Brussels office established?"))
    stop()
    try:
        for _ in range(asks):
            started = time.monotonic()
            reply = texts(ask(scale.url, sender, "why then?"))
            assert "try again" in reply.lower() and time.monotonic() - started < 10
    finally:
        start()
    assert any(log_marker in (scale.logs / f"rasa-{i}.log").read_text(errors="replace") for i in range(REPLICAS))
    for _ in range(asks):
        assert "Lisbon" in texts(ask(scale.url, sender, "why then?"))  # context survived in PostgreSQL
    assert [scale.processes[f"rasa-{i}"].pid for i in range(REPLICAS)] == pids


def test_redis_down_gives_try_again_and_recovers_without_restarting_replicas(scale):
    outage_then_recovery(scale, "redis", lambda: scale.stop("redis"), scale.start_redis, "LOCK STORE UNAVAILABLE",
                         asks=1)


def test_postgres_down_gives_try_again_and_recovers_without_restarting_replicas(scale):
    # SIGINT: PostgreSQL's fast shutdown, which disconnects the replicas' pooled connections. Both replicas
    # are asked (round-robin), so both report it and both recover.
    outage_then_recovery(scale, "pg", lambda: scale.stop("postgres", signal.SIGINT), scale.start_postgres,
                         "TRACKER STORE UNAVAILABLE", asks=REPLICAS)

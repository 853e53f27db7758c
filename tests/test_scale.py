"""The scale profile for real: PostgreSQL, Redis, 2 Rasa replicas, 2 action servers and nginx on loopback.

One topology (tools/scale.py, the same code as `make scale-up`) is started for this module on free ports,
with its data in a temporary directory, around the session's PostgreSQL (`scale_postgres` in conftest.py,
also used by tests/test_retention.py). Figures are printed (`pytest -s` shows them) and asserted.
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
    SCALE_REPLICAS,
    page_origin,
    send_slack_event,
    slack_channel_id,
    socketio_session,
    texts,
)
from tools.scale import Topology

pytestmark = pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make test`")
REPLICAS = SCALE_REPLICAS


@pytest.fixture(scope="module")
def scale(scale_postgres) -> Topology:
    """The whole topology around the session's PostgreSQL (tests/conftest.py), which it leaves running."""
    topology = scale_postgres
    try:
        topology.up()
        yield topology
    finally:
        topology.down(keep=("postgres",))
        shutil.copytree(topology.logs, LOG_DIR / "scale-logs", dirs_exist_ok=True)


def user_texts(scale: Topology, sender: str) -> List[str]:
    """What the REST visitor `sender` said, as stored in PostgreSQL."""
    with psycopg2.connect(**scale.pg_connect()) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT data FROM events WHERE sender_id = %s AND type_name = 'user' ORDER BY id",
                       (f"rest:{sender}",))
        return [json.loads(data)["text"] for (data,) in cursor.fetchall()]


def event_kinds(scale: Topology, sender: str) -> List[str]:
    with psycopg2.connect(**scale.pg_connect()) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT type_name, action_name FROM events WHERE sender_id = %s ORDER BY id",
                       (f"rest:{sender}",))
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
    counter = f"iom:lock:rest:{sender}:next"

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


# ------------------------------------------------------------------------------- issue 14 on PostgreSQL
def test_bad_ids_and_text_through_nginx_never_stop_a_replica(scale):
    """Row 1 on PostgreSQL (a NUL in an id made psycopg2 raise a ValueError that Rasa treats as fatal)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    any_text = st.text(alphabet=st.characters(blacklist_categories=()), max_size=80)
    ids = st.one_of(any_text, st.sampled_from(["a\x00b", "\ud800", "x" * 256, "\u202eid", "x" * 255]))
    pids = [scale.processes[f"rasa-{i}"].pid for i in range(REPLICAS)]

    @settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(sender=ids, text=any_text)
    def one_request(sender, text):
        response = requests.post(f"{scale.url}/webhooks/rest/webhook", timeout=30,
                                 data=json.dumps({"sender": sender, "message": text}),
                                 headers={"Content-Type": "application/json"})
        assert response.status_code in (200, 400), response.text

    one_request()
    assert all(scale.processes[f"rasa-{i}"].poll() is None for i in range(REPLICAS))
    assert [scale.processes[f"rasa-{i}"].pid for i in range(REPLICAS)] == pids
    for _ in range(REPLICAS):  # round-robin: every replica answers an ordinary visitor
        assert "1951" in texts(ask(scale.url, f"after-{uuid.uuid4().hex[:6]}", "What is IOM?"))


def test_the_postgres_store_turns_an_unstorable_id_into_a_loud_error(scale):
    from rasa.shared.core.domain import Domain

    from bot.stores.tracker_store import StrictSQLTrackerStore, TrackerStoreUnavailable
    store = StrictSQLTrackerStore(Domain.load(str(ROOT / "domain.yml")), dialect="postgresql", host="127.0.0.1",
                                  port=int(scale.env["PG_PORT"]), db=scale.env["PG_DB"],
                                  username=scale.env["PG_USER"], password=scale.env["PG_PASSWORD"])
    with pytest.raises(TrackerStoreUnavailable):
        asyncio.run(store.retrieve("a\x00b"))


def test_a_holder_that_stalls_past_its_lifetime_is_not_saved_and_the_next_turn_goes_on(scale):
    """Row 8: the renewal's result is checked; a lost lock means the turn's events are not stored."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    from bot.stores.lock_store import TicketRedisLockStore
    from bot.stores.tracker_store import StrictSQLTrackerStore, TrackerStoreUnavailable
    locks = TicketRedisLockStore(EndpointConfig(url="127.0.0.1", port=int(scale.env["REDIS_PORT"]),
                                                password=scale.env["REDIS_PASSWORD"], db=4, lock_lifetime=0.3))
    store = StrictSQLTrackerStore(Domain.load(str(ROOT / "domain.yml")), dialect="postgresql", host="127.0.0.1",
                                  port=int(scale.env["PG_PORT"]), db=scale.env["PG_DB"],
                                  username=scale.env["PG_USER"], password=scale.env["PG_PASSWORD"])
    conversation = f"rest:stall-{uuid.uuid4().hex[:6]}"

    def turn(text):
        tracker = DialogueStateTracker(conversation, [])
        tracker.update(ActionExecuted("action_listen"))
        tracker.update(UserUttered(text, {"name": "greet", "confidence": 1.0}))
        return tracker

    async def stalled_then_next():
        async with locks.lock(conversation):
            time.sleep(0.8)  # the holder stalls (blocking its event loop) past the 0.3 s lifetime
            async with locks.lock(conversation):  # meanwhile the next turn gets the conversation
                await store.save(turn("the next turn"))
            with pytest.raises(TrackerStoreUnavailable):
                await store.save(turn("the stalled turn"))

    asyncio.run(stalled_then_next())
    stored = [e.text for e in asyncio.run(store.retrieve_full_tracker(conversation)).events if hasattr(e, "text")]
    assert "the next turn" in stored and "the stalled turn" not in stored


def test_no_secret_on_a_command_line_and_nginx_workers_unprivileged(scale):
    """Row 13: Redis's password is in a file of mode 600, secrets.json too, nginx workers are not root."""
    import os
    import stat
    redis_pid = scale.processes["redis"].pid
    command = open(f"/proc/{redis_pid}/cmdline", "rb").read().decode(errors="replace")
    assert scale.env["REDIS_PASSWORD"] not in command
    for secret_file in (scale.dir / "secrets.json", scale.dir / "redis.conf"):
        assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600, secret_file
    master = scale.processes["nginx"].pid
    workers = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == master]
    assert workers and all(os.stat(f"/proc/{w}").st_uid != 0 for w in workers) or os.geteuid() != 0


def _parent(pid: int) -> int:
    try:
        return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1

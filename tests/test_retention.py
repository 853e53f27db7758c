"""bot/stores/retention.py: `purge` (events older than N days), `forget` (one person's conversation), their
command line (`python -m bot.stores.retention`, `make purge`, `make forget SENDER=...`) and the daily purge
the tracker store starts from the endpoints' `retention_days`.

Every test runs on SQLite, and again on the scale profile's PostgreSQL (the session's one, `scale_postgres`
in conftest.py; those runs are `live`). Conversations are written by the real tracker store
(`StrictSQLTrackerStore.save`), with event timestamps in the past. PostgreSQL is shared with other tests, so
those tests only count their own conversations (ids under a per-test prefix) and compare what `purge`
reports with what the database held before.
"""
from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Dict, List, Sequence, Union

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import read_endpoints_from_path
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.servers import QUIET, free_port
from bot.settings import ROOT, process_environment
from bot.stores import retention
from bot.stores.retention import DAY_S, forget, purge, start_daily_purge
from bot.stores.tracker_store import StrictSQLTrackerStore

DOMAIN = Domain.load(str(ROOT / "domain.yml"))
PG_SETTINGS = ("PG_HOST", "PG_PORT", "PG_DB", "PG_USER", "PG_PASSWORD")
LONE_SURROGATE = b"visitor-\xed\xa0\x80"  # UTF-8 of U+D800: Python reads it from argv as lone surrogates


@dataclass
class Database:
    kind: str  # sqlite | postgres
    store: StrictSQLTrackerStore
    env: Dict[str, str]  # what the command line needs to find this database
    prefix: str  # this test's conversation ids start with it (PostgreSQL is shared)

    @property
    def engine(self) -> sa.engine.Engine:
        return self.store.engine

    def save(self, sender: str, ages_days: Sequence[float], now: float) -> int:
        """Stores a conversation with one turn (3 events) at each age; returns how many events."""
        tracker = DialogueStateTracker(sender, DOMAIN.slots)
        for age in ages_days:
            at = now - age * DAY_S
            tracker.update(ActionExecuted("action_listen", timestamp=at))
            tracker.update(UserUttered("What is IOM?", {"name": "ask_iom", "confidence": 1.0}, timestamp=at))
            tracker.update(SlotSet("last_entry", "iom_about", timestamp=at))
        asyncio.run(self.store.save(tracker))
        return 3 * len(ages_days)

    def counts(self) -> Dict[str, int]:
        """Events per conversation of this test."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT sender_id, COUNT(*) FROM events WHERE sender_id LIKE :p "
                                              "GROUP BY sender_id"), {"p": f"%{self.prefix}%"}).fetchall()
        return {sender: count for sender, count in rows}

    def older_than(self, cutoff: float) -> int:
        with self.engine.connect() as connection:
            return connection.execute(sa.text("SELECT COUNT(*) FROM events WHERE timestamp < :c"),
                                      {"c": cutoff}).scalar()


def postgres_store(topology) -> StrictSQLTrackerStore:
    env = topology.env
    return StrictSQLTrackerStore(DOMAIN, dialect="postgresql", host=env["PG_HOST"], port=int(env["PG_PORT"]),
                                 db=env["PG_DB"], username=env["PG_USER"], password=env["PG_PASSWORD"])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.live)])
def database(request, tmp_path) -> Database:
    prefix = f"ret{uuid.uuid4().hex[:8]}"
    if request.param == "sqlite":
        path = tmp_path / "tracker.db"
        store = StrictSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(path))
        db = Database("sqlite", store, {"TRACKER_DB": str(path)}, prefix)
    else:
        topology = request.getfixturevalue("scale_postgres")
        db = Database("postgres", postgres_store(topology), {k: topology.env[k] for k in PG_SETTINGS}, prefix)
    yield db
    db.engine.dispose()


def cli(db: Database, *args: Union[str, bytes], **env: str) -> subprocess.CompletedProcess:
    """`python -m bot.stores.retention [--postgres] ARGS` against `db`; stdout and stderr as text."""
    return run_cli(db.kind, db.env, *args, **env)


def run_cli(kind: str, db_env: Dict[str, str], *args: Union[str, bytes], **env: str) -> subprocess.CompletedProcess:
    command: List[Union[str, bytes]] = [sys.executable, "-m", "bot.stores.retention",
                                        *(["--postgres"] if kind == "postgres" else []), *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, errors="replace", timeout=60,
                          env={**process_environment(), **QUIET, "PYTHONPATH": str(ROOT), **db_env, **env})


# ---------------------------------------------------------------------------------------------- purge

def test_purge_deletes_only_events_older_than_n_days(database):
    now, p = time.time(), database.prefix
    database.save(f"rest:{p}-old", [30, 10], now)
    database.save(f"socketio:{p}-mixed", [8, 6.9, 1], now)
    database.save(f"slack:{p}-recent", [0.5, 0], now)
    before = database.counts()
    expected = database.older_than(now - 7 * DAY_S)  # PostgreSQL may hold other tests' old events
    assert expected >= 3 * 3

    assert purge(database.engine, 7, now=now) == expected
    assert database.counts() == {f"socketio:{p}-mixed": 2 * 3, f"slack:{p}-recent": before[f"slack:{p}-recent"]}
    assert database.older_than(now - 7 * DAY_S) == 0
    assert purge(database.engine, 7, now=now) == 0  # nothing left to delete


def test_purge_keeps_an_event_one_second_inside_the_window(database):
    now, p = time.time(), database.prefix
    database.save(f"rest:{p}-edge", [7 - 1 / DAY_S, 7 + 1 / DAY_S], now)
    purge(database.engine, 7, now=now)
    assert database.counts() == {f"rest:{p}-edge": 3}


# ---------------------------------------------------------------------------------------------- forget

def conversations(database: Database, now: float) -> Dict[str, int]:
    """Conversations whose ids look alike; each stored with 1 or 2 turns."""
    p = database.prefix
    senders = {f"rest:{p}-alice": 2, f"socketio:{p}-alice": 1, f"rest:{p}-alice2": 1, f"rest:{p}-Alice": 1,
               f"rest:x{p}-alice": 1, f"rest:{p}-x{p}-alice": 1, f"rest:other:{p}-alice": 1, f"{p}-alice": 1}
    for sender, turns in senders.items():
        database.save(sender, [1] * turns, now)
    return {sender: 3 * turns for sender, turns in senders.items()}


def test_forget_a_channel_conversation_deletes_exactly_that_one(database):
    stored = conversations(database, time.time())
    gone = f"rest:{database.prefix}-alice"
    assert forget(database.engine, gone) == stored[gone] == 6
    assert database.counts() == {s: n for s, n in stored.items() if s != gone}


def test_forget_a_bare_id_deletes_it_on_every_channel_and_nothing_else(database):
    """`<id>` is `<channel>:<id>` on every channel (and a conversation stored without a channel): not `Alice`
    (SQLite's LIKE ignores case), not `rest:other:<id>` (another REST visitor's id), not `<id>2`."""
    stored = conversations(database, time.time())
    bare = f"{database.prefix}-alice"
    gone = {f"rest:{bare}", f"socketio:{bare}", bare}
    assert forget(database.engine, bare) == sum(stored[s] for s in gone) == 12
    assert database.counts() == {s: n for s, n in stored.items() if s not in gone}


@pytest.mark.parametrize("wildcard", ["%", "_", "%alice", "\\", "%\\"])
def test_like_wildcards_in_an_id_match_nothing_else(database, wildcard):
    stored = conversations(database, time.time())
    assert forget(database.engine, wildcard) == 0
    assert forget(database.engine, f"rest:{wildcard}") == 0
    assert database.counts() == stored


# ---------------------------------------------------------------------------------------------- command line

def test_command_line_reports_what_it_deleted(database):
    now, p = time.time(), database.prefix
    database.save(f"rest:{p}-bob", [1], now)
    database.save(f"slack:{p}-bob", [2], now)
    database.save(f"rest:{p}-carol", [1], now)
    assert database.counts()  # written before the command line reads

    done = cli(database, "forget", f"{p}-bob")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"deleted 6 events of '{p}-bob'"
    done = cli(database, "forget", f"rest:{p}-carol")
    assert done.stdout.strip() == f"deleted 3 events of 'rest:{p}-carol'" and done.returncode == 0
    assert database.counts() == {}

    database.save(f"rest:{p}-dave", [40, 1], now)
    expected = database.older_than(time.time() - 30 * DAY_S)
    done = cli(database, "purge", "--days", "30")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"deleted {expected} events older than 30 days"
    assert database.counts() == {f"rest:{p}-dave": 3}
    done = cli(database, "purge", RETENTION_DAYS="0")
    assert done.stdout.strip() == "RETENTION_DAYS is 0: conversations are kept; nothing deleted"
    assert database.counts() == {f"rest:{p}-dave": 3}


def test_an_unknown_sender_is_a_clear_message_not_an_error(database):
    database.save(f"rest:{database.prefix}-erin", [1], time.time())
    for sender, where in [(f"{database.prefix}-nobody", " on any channel"), (f"rest:{database.prefix}-nobody", "")]:
        done = cli(database, "forget", sender)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"no conversation {sender!r}{where}: nothing deleted"
    assert database.counts() == {f"rest:{database.prefix}-erin": 3}


BAD_SENDERS = {"lone surrogate": (LONE_SURROGATE, "printable"), "10,000 characters": ("x" * 10_000, "at most 255"),
               "10,000 characters on a channel": ("rest:" + "x" * 10_000, "at most 255"),
               "control character": ("visitor\x01", "printable"), "empty": ("", "non-empty"),
               "channel without id": ("rest:", "non-empty"), "blank": ("   ", "non-empty")}


@pytest.mark.parametrize("sender,problem", BAD_SENDERS.values(), ids=BAD_SENDERS.keys())
def test_bad_sender_is_a_clear_error_never_a_traceback(database, sender, problem):
    database.save(f"rest:{database.prefix}-frank", [1], time.time())
    done = cli(database, "forget", sender)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("forget: SENDER ") and problem in line and "nothing deleted" in line
    assert len(line) < 200  # the bad value itself is not echoed
    assert database.counts() == {f"rest:{database.prefix}-frank": 3}


@pytest.mark.parametrize("days", ["-1", "soon", "1e9999"])
def test_bad_days_is_a_clear_error(database, days):
    done = cli(database, "purge", "--days", days)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "not a number of days (0 or more)" in done.stderr.strip().splitlines()[-1]


def test_an_unreachable_database_is_a_clear_error(tmp_path):
    done = run_cli("postgres", {"PG_HOST": "127.0.0.1", "PG_PORT": str(free_port()), "PG_PASSWORD": "x"}, "forget",
                   "rest:someone")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("forget: the conversation database failed (OperationalError: ")
    missing = tmp_path / "none.db"
    done = run_cli("sqlite", {"TRACKER_DB": str(missing)}, "purge", "--days", "3")
    assert done.returncode == 0
    assert done.stdout.strip() == f"no conversation database at {missing} (TRACKER_DB): nothing deleted"
    assert not missing.exists()  # not created by looking


def test_make_purge_and_make_forget(tmp_path):
    path = tmp_path / "tracker.db"
    db = Database("sqlite", StrictSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(path)), {}, "mk")
    now = time.time()
    db.save("rest:mk-gina", [100, 1], now)
    db.save("socketio:mk-hugo", [1], now)
    env = {**process_environment(), "TRACKER_DB": str(path), "RETENTION_DAYS": "90"}

    def make(*args: str) -> str:
        done = subprocess.run(["make", "--no-print-directory", "-s", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    assert make("purge") == "deleted 3 events older than 90 days"
    assert make("forget", "SENDER=socketio:mk-hugo") == "deleted 3 events of 'socketio:mk-hugo'"
    assert db.counts() == {"rest:mk-gina": 3}
    db.engine.dispose()


# ---------------------------------------------------------------------------------------------- the daily purge

ENDPOINTS = {"sqlite": "endpoints.yml", "postgres": "endpoints.scale.yml"}


def test_the_tracker_store_from_the_endpoints_purges_on_its_own(database, monkeypatch):
    """The endpoints file as Rasa reads it (`retention_days: ${RETENTION_DAYS}` arrives as text): the store Rasa
    builds from it starts the daily purge; its first run (60 s after start-up, here at once) deletes what is
    older than RETENTION_DAYS."""
    now, p = time.time(), database.prefix
    database.save(f"rest:{p}-old", [20], now)
    database.save(f"rest:{p}-new", [2], now)
    for name, value in {"RETENTION_DAYS": "14", "ACTION_HOST": "127.0.0.1", "ACTION_PORT": "5055",
                        "REDIS_HOST": "127.0.0.1", "REDIS_PORT": "6379", "REDIS_PASSWORD": "x", "REDIS_DB": "1",
                        **database.env}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(retention, "FIRST_PURGE_DELAY_S", 0)
    before = retention_threads()
    endpoints = read_endpoints_from_path(str(ROOT / ENDPOINTS[database.kind]))
    assert endpoints.tracker_store.kwargs["retention_days"] == "14"
    store = TrackerStore.create(endpoints.tracker_store, DOMAIN)
    try:
        assert isinstance(store, StrictSQLTrackerStore)
        assert retention_threads() - before  # the store started a daily purge
        deadline = time.monotonic() + 20
        while f"rest:{p}-old" in database.counts() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert database.counts() == {f"rest:{p}-new": 3}
    finally:
        store.engine.dispose()


def retention_threads() -> set:
    return {t for t in threading.enumerate() if t.name == "retention"}


def test_no_daily_purge_when_retention_is_zero(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert start_daily_purge(engine, 0) is None
    before = retention_threads()
    store = StrictSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"), retention_days="0")
    assert retention_threads() == before
    store.engine.dispose()


def test_a_failing_daily_purge_is_logged_and_the_thread_goes_on(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(retention, "FIRST_PURGE_DELAY_S", 0)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'no-events-table.db'}")
    with caplog.at_level(logging.ERROR, logger=retention.log.name):
        thread = start_daily_purge(engine, 7)
        deadline = time.monotonic() + 10
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.05)
    assert thread is not None and thread.is_alive() and thread.daemon
    [record] = caplog.records
    assert record.getMessage() == "retention: the daily purge failed (OperationalError); next try in a day"

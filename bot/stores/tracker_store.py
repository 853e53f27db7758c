"""SQL tracker store that fails loudly and whose per-turn cost does not grow with the conversation.

1. Loud failures, never an exit. Rasa wraps every tracker store in FailSafeTrackerStore, which swallows
   errors: a failed read returns no tracker, so the user silently starts a new conversation, and a failed
   write goes to an in-memory store that a restart loses. And SQLTrackerStore's `session_scope` takes any
   ValueError for "PostgreSQL schema not found" and exits the process (a sender id with a lone surrogate
   on SQLite, or a NUL on PostgreSQL, stopped the server). Here a database error is logged as an error and
   raised as `TrackerStoreUnavailable`, a BaseException that FailSafeTrackerStore's `except Exception` lets
   through, so the channel (bot/channels/base.py) answers "please try again" instead of forgetting the
   conversation; the engine hides statement parameters (user text, sender ids) from error messages; and a
   turn whose conversation lock was lost (bot/stores/lock_store.py) is not saved over the next one.

2. A bounded window. Stock SQLTrackerStore loads and replays every event of the session on every turn, and
   Rasa then featurizes, rule-matches and sends to the action server the whole tracker: at turn 300 a turn
   cost ~10x turn 10 (`make bench`). This store loads the session's last `window` events (cut at an
   `action_listen`, so the window starts at a turn boundary) plus, from before the window, the session's
   start and the latest value of each slot and active loop. The assistant keeps its context in slots and its
   policies look 3 turns back (config.yml), so nothing it uses is lost. Every event is still stored: `save`
   appends only the events added since the load, and `retrieve_full_tracker` (HTTP API, exports) reads all.
   Not for bots whose stories look further back than `window` events.

3. Pooled connections. PostgreSQL connections are pre-pinged, so after a database restart a stale pooled
   connection is replaced instead of failing a turn. For SQLite Rasa opens a new connection for every read
   and write (SQLAlchemy's NullPool); we pool them, and at each checkout compare the file's identity with
   the one the connection opened: a database file deleted or replaced under the server gets a fresh
   connection (and a loud error if it is unusable) instead of writes into the old, unlinked file.

4. Retention: with `retention_days` (endpoints, from RETENTION_DAYS) events older than that are deleted
   once a day (bot/stores/retention.py).

Configured in endpoints.yml as `type: bot.stores.tracker_store.StrictSQLTrackerStore` (SQLite and
PostgreSQL).
"""
from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from typing import Any, Dict, Generator, List, NoReturn, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs, ensure_schema_exists
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot.stores.lock_store import LockLost, check_lock_held
from bot.stores.retention import start_daily_purge

log = logging.getLogger(__name__)
DEFAULT_WINDOW = 60  # events, ~12 turns of this assistant
SQLITE_POOL_SIZE = 2  # the store runs synchronously in the event loop: one connection in use at a time
STORED_MARK = "_iom_events_stored"  # how many of tracker.events are already in the database


def _identity(path: str):
    try:
        stat = os.stat(path)
        return stat.st_dev, stat.st_ino
    except OSError:
        return None


def _same_file(path: str, record: Any) -> None:
    if record.info.get("file") != _identity(path):
        raise sa.exc.DisconnectionError(f"{path} was replaced or removed; reconnecting")


class TrackerStoreUnavailable(BaseException):
    """The conversation store cannot be read or written."""


class StrictSQLTrackerStore(SQLTrackerStore):
    engine: sa.engine.Engine

    def __init__(self, *args: Any, window: int = DEFAULT_WINDOW, retention_days: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.window = int(window)
        replaced = self.engine
        if self.engine.dialect.name == "postgresql":
            self.engine = sa.create_engine(self.engine.url, pool_pre_ping=True, hide_parameters=True,
                                           **create_engine_kwargs(self.engine.url))
        elif self.engine.dialect.name == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
            self.engine = sa.create_engine(self.engine.url, poolclass=sa.pool.QueuePool, pool_size=SQLITE_POOL_SIZE,
                                           hide_parameters=True, connect_args={"check_same_thread": False})
            path = self.engine.url.database
            sa.event.listen(self.engine, "connect", lambda _c, record: record.info.update(file=_identity(path)))
            sa.event.listen(self.engine, "checkout", lambda _c, record, _p: _same_file(path, record))
        if self.engine is not replaced:
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
            replaced.dispose()
        start_daily_purge(self.engine, int(retention_days))  # bot/stores/retention.py

    @contextmanager
    def session_scope(self) -> Generator[Any, None, None]:
        """Rasa's, without its `print_error_and_exit` on ValueError: errors reach `_fail` instead."""
        session = self.sessionmaker()
        try:
            ensure_schema_exists(session)
            yield session
        finally:
            session.close()

    def _fail(self, operation: str, exc: Exception) -> NoReturn:
        log.error("TRACKER STORE UNAVAILABLE: cannot %s the conversation of a sender (%s: %s)", operation,
                  type(exc).__name__, exc)
        raise TrackerStoreUnavailable(f"{operation} failed: {exc}") from exc

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        try:
            with self.session_scope() as session:
                events = self._windowed_events(session, sender_id)
        except Exception as exc:  # noqa: BLE001
            self._fail("read", exc)
        if not events or not self.domain:
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        setattr(tracker, STORED_MARK, len(tracker.events))
        return tracker

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        try:
            return await super().retrieve_full_tracker(conversation_id)
        except Exception as exc:  # noqa: BLE001
            self._fail("read", exc)
            raise  # _fail raises; this line only tells the type checker

    async def save(self, tracker: DialogueStateTracker) -> Any:
        try:
            check_lock_held()
        except LockLost as exc:
            log.error("TRACKER STORE: not saving a turn whose conversation lock was lost (%s)", exc)
            raise TrackerStoreUnavailable(f"save refused: {exc}") from exc
        try:
            await super().save(tracker)
        except Exception as exc:  # noqa: BLE001
            self._fail("save", exc)
        setattr(tracker, STORED_MARK, len(tracker.events))

    def _additional_events(self, session: Any, tracker: DialogueStateTracker):
        stored = getattr(tracker, STORED_MARK, None)
        if stored is None:  # a tracker we did not load (new, or replaced through the HTTP API)
            return super()._additional_events(session, tracker)
        return list(tracker.events)[stored:]

    def _windowed_events(self, session: Any, sender_id: Text) -> List[Dict[Text, Any]]:
        Event = self.SQLEvent
        mine = Event.sender_id == sender_id
        start = session.query(sa.func.max(Event.id)).filter(mine, Event.type_name == SessionStarted.type_name)
        start_id = start.scalar() or 0
        rows = (session.query(Event.id, Event.type_name, Event.action_name, Event.data)
                .filter(mine, Event.id >= start_id).order_by(Event.id.desc()).limit(self.window).all())
        rows.reverse()
        if len(rows) < self.window or not rows or rows[0].id == start_id:
            return [json.loads(row.data) for row in rows]  # the whole session fits
        # Start the window at a turn boundary, then add what it cut off that still shapes the state.
        listen = next((i for i, r in enumerate(rows)
                       if r.type_name == ActionExecuted.type_name and r.action_name == ACTION_LISTEN_NAME), 0)
        rows = rows[listen:]
        before = Event.id < rows[0].id
        latest = (session.query(sa.func.max(Event.id))
                  .filter(mine, Event.id >= start_id, before,
                          Event.type_name.in_([SlotSet.type_name, ActiveLoop.type_name]))
                  .group_by(Event.type_name, Event.action_name))
        prefix_ids = sorted({start_id, *(i for (i,) in latest.all())} - {0})
        prefix = (session.query(Event.data).filter(Event.id.in_(prefix_ids)).order_by(Event.id).all()
                  if prefix_ids else [])
        return [json.loads(row.data) for row in [*prefix, *rows]]

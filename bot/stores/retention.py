"""How long conversations are kept, and erasure on request (GDPR).

- `purge`: every event older than RETENTION_DAYS is deleted. The running Rasa server does it once a day
  (`start_daily_purge`, started by the tracker store), and `make purge` does it on demand. Sessions expire
  after 60 minutes, so an event that old belongs to a finished session and the bot never reads it again.
- `forget`: every event of one person's conversation(s), e.g. after an erasure request:
  `make forget SENDER=socketio:<session id>` (the widget shows no id: search the report's transcript, or
  give the bare id to delete it on every channel: `make forget SENDER=<id>`, exactly that id, case included).
  Gone from the report too. A Slack user's threads are conversations of their own
  (`slack:<user>_<channel>_<thread ts>`): forget each of them too.
Both work on SQLite and PostgreSQL (the tracker store's database), and report how many events went.

    python -m bot.stores.retention purge [--days N]
    python -m bot.stores.retention forget SENDER
"""
from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from typing import Optional

import sqlalchemy as sa

from bot.channels.screening import sender_problem
from bot.settings import Settings, settings

log = logging.getLogger(__name__)
DAY_S = 24 * 3600
FIRST_PURGE_DELAY_S = 60  # after start-up, when the server is ready
EVENTS = sa.table("events", sa.column("sender_id"), sa.column("timestamp"))


def purge(engine: sa.engine.Engine, days: int, now: Optional[float] = None) -> int:
    """Deletes every event older than `days` days; returns how many."""
    cutoff = (now if now is not None else time.time()) - days * DAY_S
    with engine.begin() as connection:
        return connection.execute(sa.delete(EVENTS).where(EVENTS.c.timestamp < cutoff)).rowcount or 0


def sender_error(sender: str) -> Optional[str]:
    """Why `sender` (`<channel>:<id>` or a bare id) cannot name a conversation, or None: the id is what the
    channels accept (bot/channels/screening.py), so a longer or unprintable one was never stored."""
    channel, colon, conversation = sender.partition(":")
    problem = sender_problem(conversation if colon else sender) or (sender_problem(channel) if colon else None)
    return f"SENDER {problem}" if problem else None


def forget(engine: sa.engine.Engine, sender: str) -> int:
    """Deletes every event of the conversation `sender` (`<channel>:<id>`, or a bare id: on every channel)."""
    with engine.begin() as connection:
        senders = [sender]
        if ":" not in sender:  # `<any channel>:<sender>`, exactly: LIKE is only a pre-filter (case-insensitive
            # on SQLite, and `rest:a:<sender>` is another conversation)
            pattern = "%:" + sender.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
            candidates = connection.execute(sa.select(EVENTS.c.sender_id).distinct()
                                            .where(EVENTS.c.sender_id.like(pattern, escape="\\"))).scalars()
            senders += [found for found in candidates if found.partition(":")[2] == sender]
        return connection.execute(sa.delete(EVENTS).where(EVENTS.c.sender_id.in_(senders))).rowcount or 0


def start_daily_purge(engine: sa.engine.Engine, days: int) -> Optional[threading.Thread]:
    """A daemon thread that purges shortly after start-up and then every day (nothing when `days` is 0)."""
    if days <= 0:
        return None

    def run() -> None:
        time.sleep(FIRST_PURGE_DELAY_S)
        while True:
            try:
                deleted = purge(engine, days)
                log.info("retention: deleted %d events older than %d days", deleted, days)
            except sa.exc.SQLAlchemyError as exc:  # the database may be down for a while: try again tomorrow
                log.error("retention: the daily purge failed (%s); next try in a day", type(exc).__name__)
            time.sleep(DAY_S)

    thread = threading.Thread(target=run, name="retention", daemon=True)
    thread.start()
    return thread


def engine_for(config: Settings, postgres: bool = False) -> sa.engine.Engine:
    """The tracker store's database: the SQLite file of `make run`, or the scale profile's PostgreSQL."""
    if postgres:
        url = sa.engine.URL.create("postgresql", config.pg_user, config.pg_password, config.pg_host, config.pg_port,
                                   config.pg_db)
        return sa.create_engine(url, hide_parameters=True)
    return sa.create_engine(f"sqlite:///{config.tracker_db}", hide_parameters=True)


def days_count(raw: str) -> int:
    try:
        days = int(raw)
    except ValueError:
        days = -1
    if days < 0:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of days (0 or more)")
    return days


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="the scale profile's PostgreSQL (PG_* settings)")
    commands = parser.add_subparsers(dest="command", required=True)
    purge_command = commands.add_parser("purge", help="delete every event older than RETENTION_DAYS")
    purge_command.add_argument("--days", type=days_count, help="instead of RETENTION_DAYS")
    forget_command = commands.add_parser("forget", help="delete one person's conversation")
    forget_command.add_argument("sender", help="<channel>:<id>, or a bare id for every channel")
    args = parser.parse_args()
    config = settings()
    if args.command == "forget":
        problem = sender_error(args.sender)
        if problem:
            print(f"forget: {problem}; nothing deleted (give SENDER=<channel>:<id>)", file=sys.stderr)
            return 2
    if not args.postgres and not config.tracker_db.exists():
        print(f"no conversation database at {config.tracker_db} (TRACKER_DB): nothing deleted")
        return 0
    engine = engine_for(config, args.postgres)
    try:
        if args.command == "purge":
            days = args.days if args.days is not None else config.retention_days
            if days <= 0:
                print(f"{'--days' if args.days is not None else 'RETENTION_DAYS'} is 0: conversations are kept; "
                      "nothing deleted")
                return 0
            print(f"deleted {purge(engine, days)} events older than {days} days")
        else:
            deleted = forget(engine, args.sender)
            where = "" if ":" in args.sender else " on any channel"
            print(f"deleted {deleted} events of {args.sender!r}" if deleted else
                  f"no conversation {args.sender!r}{where}: nothing deleted")
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        print(f"{args.command}: the conversation database failed ({type(exc).__name__}: {reason})", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

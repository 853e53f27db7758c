"""The conversations in the tracker store, read for `make report` and `make review`.

`scan()` reads the `events` table of Rasa's SQL tracker store (SQLite or PostgreSQL, through SQLAlchemy) for a
period of days and returns typed `Turn`s: one per user message, with the NLU's ranking, the language, and
the reply's turn record (bot/protocol.py). `classify()` is the one definition of what a reply was (answered,
fallback, did-you-mean, out of scope, other) that both tools use. Feedback slot events are merged per
conversation and answer. Every text is masked (tools/privacy.py) before it leaves this module, and
conversations are numbered instead of named: sender ids can themselves be personal (an e-mail address as a
REST sender).

The scan pages through the table by primary key in short transactions, so a long scan never holds a lock
the running bot's SQLite writes would wait for, and prints a progress line on stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from enum import Enum
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, TextIO, Tuple
from urllib.parse import quote

import sqlalchemy as sa

from bot.protocol import DetectedLanguage, Fallback, ReplyKind, TurnRecord
from bot.settings import Settings, settings
from tools.privacy import mask

OUT_OF_SCOPE_INTENTS = frozenset({"out_of_scope", "ask_unavailable", "ask_personal_case"})
FALLBACK_INTENT = "nlu_fallback"  # Rasa's FallbackClassifier puts it first in the ranking
FEEDBACK_SLOT = "feedback"
FEEDBACK_FIELDS = ("rating", "reason", "comment")
CHANNELS = ("socketio", "rest", "slack")
DEFAULT_LANGUAGE = "en"
DEFAULT_DAYS = 30
PAGE_SIZE = 5000  # events read per transaction, and how often the progress line moves
REPLY_MARGIN = timedelta(minutes=10)  # replies to a question asked just before the period ends are read too
RANKED_INTENTS = 5  # intents of the NLU's ranking kept per turn
EVENTS = sa.table("events", sa.column("id"), sa.column("sender_id"), sa.column("type_name"),
                  sa.column("timestamp"), sa.column("data"))


class Outcome(str, Enum):
    ANSWERED = "answered"  # a content entry, or "tell me more" about one
    FALLBACK = "fallback"  # not understood: the topic menu
    DID_YOU_MEAN = "did_you_mean"  # two close intents offered
    OUT_OF_SCOPE = "out_of_scope"  # understood as something the assistant does not answer
    NO_DETAIL = "no_detail"  # a date, figure or names the content does not give: a content gap
    OTHER = "other"  # greetings, thanks, help, language switch, feedback...
    NO_REPLY = "no_reply"  # no turn record stored (the visitor got "try again", or nothing)


UNANSWERED = (Outcome.FALLBACK, Outcome.DID_YOU_MEAN, Outcome.OUT_OF_SCOPE, Outcome.NO_DETAIL)


def classify(record: Optional[TurnRecord]) -> Outcome:
    """What the reply to a turn was, from the action's turn record."""
    if record is None:
        return Outcome.NO_REPLY
    if record.kind in (ReplyKind.ANSWER, ReplyKind.MORE):
        return Outcome.ANSWERED
    if record.kind == ReplyKind.FALLBACK:
        return Outcome.FALLBACK
    if record.kind == ReplyKind.DID_YOU_MEAN:
        return Outcome.DID_YOU_MEAN
    if record.kind == ReplyKind.NO_DETAIL:
        return Outcome.NO_DETAIL
    if record.intent in OUT_OF_SCOPE_INTENTS:
        return Outcome.OUT_OF_SCOPE
    return Outcome.OTHER


class StoreError(RuntimeError):
    """The tracker store cannot be opened or read; the message says which and why."""


# ---------------------------------------------------------------------------------------------- the period

@dataclass(frozen=True)
class Period:
    """Whole days, `first` to `last` included, in `zone`."""
    first: date
    last: date
    zone: tzinfo

    @classmethod
    def parse(cls, first: Optional[str], last: Optional[str], zone: tzinfo, today: Optional[date] = None
              ) -> "Period":
        """From YYYY-MM-DD texts; without them, the last DEFAULT_DAYS days up to today."""
        try:
            end = date.fromisoformat(last) if last else (today or datetime.now(zone).date())
            start = date.fromisoformat(first) if first else end - timedelta(days=DEFAULT_DAYS - 1)
        except ValueError as exc:
            raise ValueError(f"dates are written YYYY-MM-DD ({exc})") from None
        if start > end:
            raise ValueError(f"the period starts ({start}) after it ends ({end})")
        return cls(start, end, zone)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), self.zone)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.last + timedelta(days=1), time(), self.zone)

    def days(self) -> List[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def local(self, timestamp: float) -> datetime:
        return datetime.fromtimestamp(timestamp, timezone.utc).astimezone(self.zone)

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def __str__(self) -> str:
        return f"{self.first} to {self.last}"


# ---------------------------------------------------------------------------------------------- records

@dataclass(frozen=True)
class Turn:
    """One user message and what the assistant made of it. Texts are masked."""
    conversation: int  # the conversation's number in this scan, in order of its first message
    channel: str
    position: int  # 1, 2, ... among the conversation's messages in the period
    at: datetime  # in the period's time zone
    text: str
    payload: bool  # a button's "/intent{...}" payload, not a typed question
    language: str
    ranking: Tuple[Tuple[str, float], ...]  # the NLU's intents, best first, without nlu_fallback
    fallback_reason: Optional[str]  # low_confidence | ambiguous when the NLU fell back
    outcome: Outcome
    intent: Optional[str]  # the intent the reply was chosen for
    entry: Optional[str]  # the content entry answered
    replies: Tuple[str, ...]  # the bot's texts for this turn
    latency_ms: Optional[float]  # from the user event to the first bot event

    @property
    def day(self) -> date:
        return self.at.date()

    @property
    def unanswered(self) -> bool:
        """A typed question that got a fallback, a did-you-mean or an out-of-scope reply."""
        return not self.payload and self.outcome in UNANSWERED

    @property
    def competing(self) -> Tuple[Tuple[str, float], ...]:
        """The NLU's two best intents."""
        return self.ranking[:2]


@dataclass(frozen=True)
class Feedback:
    """A visitor's rating of one answer in one conversation: the latest non-empty value of each field."""
    conversation: int
    channel: str
    entry: str
    rating: Optional[str]  # up | down
    reason: Optional[str]  # wrong | missing | unclear
    comment: Optional[str]  # masked
    at: datetime


@dataclass
class Scan:
    period: Period
    source: str  # the store, without its password
    turns: List[Turn] = field(default_factory=list)
    feedback: List[Feedback] = field(default_factory=list)
    events: int = 0

    @property
    def conversations(self) -> int:
        return len({t.conversation for t in self.turns})


# ---------------------------------------------------------------------------------------------- the store

def store_url(db: Optional[str], config: Optional[Settings] = None) -> sa.engine.URL:
    """`--db`: a SQLAlchemy URL (sqlite:///path, postgresql://user@host:port/db), `postgresql` for the
    PG_* settings, or nothing for TRACKER_DB. A PostgreSQL URL without a password takes PG_PASSWORD, else the
    one `make scale-up` generated."""
    config = config or settings()
    if not db:
        url = sa.engine.URL.create("sqlite", database=str(config.tracker_db))
    elif db in ("postgresql", "postgres"):
        url = sa.engine.URL.create("postgresql", username=config.pg_user, host=config.pg_host, port=config.pg_port,
                                   database=config.pg_db)
    else:
        try:
            url = sa.engine.make_url(db)
        except sa.exc.ArgumentError:
            raise StoreError(f"--db {db!r}: not a database URL (sqlite:///path or postgresql://...)") from None
    backend = url.get_backend_name()
    if backend == "postgres":
        url, backend = url.set(drivername="postgresql"), "postgresql"
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(f"--db: {backend} is not supported (SQLite or PostgreSQL)")
    if backend == "postgresql" and url.password is None:
        url = url.set(password=_pg_password(config))
    return url


def _pg_password(config: Settings) -> Optional[str]:
    if config.pg_password:
        return config.pg_password
    from tools.scale import DEFAULT_DIR  # where `make scale-up` keeps the passwords it generated
    secrets = DEFAULT_DIR / "secrets.json"
    return json.loads(secrets.read_text()).get("PG_PASSWORD") if secrets.exists() else None


def describe(url: sa.engine.URL) -> str:
    return url.render_as_string(hide_password=True)


def _engine(url: sa.engine.URL) -> sa.engine.Engine:
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if not path.is_file():
            raise StoreError(f"no tracker store at {path}: start the bot (`make run`) or pass --db")
        # Read-only: the tools never write conversations, and must not create an empty database by mistake.
        return sa.create_engine(sa.engine.URL.create("sqlite", database=f"file:{quote(str(path))}?mode=ro",
                                                     query={"uri": "true"}))
    return sa.create_engine(url, hide_parameters=True)


def _pages(engine: sa.engine.Engine, start: float, end: float) -> Iterator[List[Any]]:
    """The user, bot and slot events with start <= timestamp < end, in insertion order, a page at a time."""
    last_id = -1
    while True:
        query = (sa.select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data)
                 .where(EVENTS.c.id > last_id, EVENTS.c.timestamp >= start, EVENTS.c.timestamp < end,
                        EVENTS.c.type_name.in_(("user", "bot", "slot")))
                 .order_by(EVENTS.c.id).limit(PAGE_SIZE))
        with engine.connect() as connection:
            rows = connection.execute(query).fetchall()
        if not rows:
            return
        yield rows
        last_id = rows[-1].id


class Progress:
    """One line on stderr that moves as the scan goes (a new line every page when stderr is not a terminal)."""

    def __init__(self, stream: Optional[TextIO]) -> None:
        self.stream = stream
        self.tty = bool(stream and stream.isatty())
        self.shown = False

    def show(self, text: str) -> None:
        if self.stream:
            self.stream.write(("\r" if self.tty else "") + text + ("" if self.tty else "\n"))
            self.stream.flush()
            self.shown = True

    def done(self) -> None:
        if self.stream and self.tty and self.shown:
            self.stream.write("\n")
            self.stream.flush()


# ---------------------------------------------------------------------------------------------- the scan

@dataclass
class _Pending:
    """A user event waiting for its reply."""
    event: Dict[str, Any]
    at: float
    first_reply_at: Optional[float] = None
    record: Optional[TurnRecord] = None
    replies: List[str] = field(default_factory=list)


@dataclass
class _Conversation:
    sender: str
    turns: List[_Pending] = field(default_factory=list)
    feedback: Dict[str, Dict[str, Any]] = field(default_factory=dict)  # entry -> merged fields and time
    ended: bool = False  # a message after the period came: later replies are not ours


def scan(url: sa.engine.URL, period: Period, progress: Optional[TextIO] = None) -> Scan:
    """Every user turn of `period` (and the feedback given in it), classified and masked; a progress line on
    `progress` (e.g. sys.stderr) if given."""
    engine = _engine(url)
    result = Scan(period, describe(url))
    conversations: Dict[str, _Conversation] = {}
    line = Progress(progress)
    start, end = period.start.timestamp(), period.end.timestamp()
    try:
        for rows in _pages(engine, start, end + REPLY_MARGIN.total_seconds()):
            for row in rows:
                _read_event(conversations, row, start, end)
            result.events += len(rows)
            if len(rows) == PAGE_SIZE:
                line.show(f"scanning the tracker store: {result.events:,} events, up to "
                          f"{period.local(rows[-1].timestamp):%Y-%m-%d}")
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"cannot read the tracker store {describe(url)} ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0]})") from None
    finally:
        line.done()
        engine.dispose()
    _collect(result, conversations)
    return result


def _read_event(conversations: Dict[str, _Conversation], row: Any, start: float, end: float) -> None:
    try:
        event = json.loads(row.data)
    except (TypeError, ValueError):
        return  # an event Rasa could not have written; nothing to learn from it
    conversation = conversations.get(row.sender_id)
    timestamp = float(row.timestamp)
    if row.type_name == "user":
        if timestamp >= end:
            if conversation:
                conversation.ended = True
            return
        conversation = conversations.setdefault(row.sender_id, _Conversation(row.sender_id))
        conversation.turns.append(_Pending(event, timestamp))
    elif row.type_name == "bot" and conversation and conversation.turns and not conversation.ended:
        pending = conversation.turns[-1]
        if pending.first_reply_at is None:
            pending.first_reply_at = timestamp
        if event.get("text"):
            pending.replies.append(event["text"])
        if pending.record is None:
            pending.record = TurnRecord.from_message(event.get("metadata") or {})
    elif row.type_name == "slot" and event.get("name") == FEEDBACK_SLOT and start <= timestamp < end:
        value = event.get("value")
        if isinstance(value, dict) and value.get("entry"):
            conversation = conversations.setdefault(row.sender_id, _Conversation(row.sender_id))
            merged = conversation.feedback.setdefault(str(value["entry"]), {})
            merged.update({k: value[k] for k in FEEDBACK_FIELDS if value.get(k) is not None}, at=timestamp)


def _channel(sender: str, event: Dict[str, Any]) -> str:
    prefix = sender.split(":", 1)[0]
    if prefix in CHANNELS:
        return prefix
    return str(event.get("input_channel") or "other")


def _ranking(parse_data: Dict[str, Any]) -> Tuple[Tuple[str, float], ...]:
    ranked = []
    for item in parse_data.get("intent_ranking") or []:
        if isinstance(item, dict) and item.get("name") and item["name"] != FALLBACK_INTENT:
            ranked.append((str(item["name"]), float(item.get("confidence") or 0.0)))
    return tuple(ranked[:RANKED_INTENTS])


def _turn(number: int, channel: str, position: int, pending: _Pending, period: Period) -> Turn:
    event = pending.event
    parse_data = event.get("parse_data") or {}
    text = str(event.get("text") or "")
    detected = DetectedLanguage.from_parse_data(parse_data)
    record = pending.record
    fallback = Fallback.from_parse_data(parse_data)
    # A button click carries no language of its own: the reply's language is the conversation's.
    language = (detected.language if detected else None) or (record.language if record else None) or DEFAULT_LANGUAGE
    latency = None if pending.first_reply_at is None else max(0.0, (pending.first_reply_at - pending.at) * 1000)
    return Turn(conversation=number, channel=channel, position=position, at=period.local(pending.at),
                text=mask(text), payload=text.startswith("/"), language=language, ranking=_ranking(parse_data),
                fallback_reason=fallback.reason.value if fallback else None, outcome=classify(record),
                intent=record.intent if record else None, entry=record.entry if record else None,
                replies=tuple(mask(r) for r in pending.replies), latency_ms=latency)


def _collect(result: Scan, conversations: Dict[str, _Conversation]) -> None:
    """Numbers the conversations in order of their first message and builds the turns and feedback."""
    def first_moment(c: _Conversation) -> Tuple[float, str]:
        moments = [t.at for t in c.turns] + [f["at"] for f in c.feedback.values()]
        return min(moments), c.sender

    period = result.period
    for number, conversation in enumerate(sorted(conversations.values(), key=first_moment), start=1):
        channel = _channel(conversation.sender, conversation.turns[0].event if conversation.turns else {})
        result.turns += [_turn(number, channel, position, pending, period)
                         for position, pending in enumerate(conversation.turns, start=1)]
        for entry, merged in sorted(conversation.feedback.items()):
            comment = merged.get("comment")
            result.feedback.append(Feedback(number, channel, entry, merged.get("rating"), merged.get("reason"),
                                            mask(str(comment)) if comment else None, period.local(merged["at"])))
    result.turns.sort(key=lambda t: (t.at, t.conversation, t.position))


def most_common(values: Sequence[str], default: str = DEFAULT_LANGUAGE) -> str:
    """The most frequent value, the first seen on a tie."""
    ranked = Counter(values).most_common(1)
    return ranked[0][0] if ranked else default


# ---------------------------------------------------------------------------------------------- command line

def add_scan_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `make report` and `make review` share: the store and the period."""
    parser.add_argument("--db", help="tracker store: sqlite:///path, postgresql://user@host:port/db, or "
                        "`postgresql` for the PG_* settings (default: the SQLite file TRACKER_DB)")
    parser.add_argument("--from", dest="first", metavar="YYYY-MM-DD",
                        help=f"first day (default: {DEFAULT_DAYS} days before --to)")
    parser.add_argument("--to", dest="last", metavar="YYYY-MM-DD", help="last day, included (default: today)")


def scan_from_arguments(args: argparse.Namespace) -> Scan:
    """The scan the options ask for, with a progress line on stderr; a wrong option or an unreadable store exits
    with its message."""
    try:
        period = Period.parse(args.first, args.last, settings().report_zone)
        return scan(store_url(args.db), period, sys.stderr)
    except (ValueError, StoreError) as exc:
        raise SystemExit(f"error: {exc}") from None

"""A tracker store with known conversations, for the tests of `make report` and `make review` (shared by
tests/test_report.py and tests/test_review.py, which assert figures counted by hand from the table below).

The database is written by our own tracker store (`StrictSQLTrackerStore`, Rasa's SQL schema), from Rasa
events shaped as the assistant stores them (bot/protocol.py): user events with the NLU's ranking, language
and fallback reason; the action's reply with its turn record; feedback slot events.

Period: 2026-11-02 to 2026-11-05, Europe/Brussels (UTC+1). Conversation 1 starts at 00:20 local time, which
is still 1 November in UTC; two conversations just outside the period must not count.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Brussels")
FIRST_DAY, LAST_DAY = "2026-11-02", "2026-11-05"
TURN_GAP = timedelta(seconds=60)
GENEVA = ["Do you have an office in Geneva?", "is there an IOM office in Geneva",
          "Est-ce que l'OIM a un bureau à Genève ?"]
DIRECTOR = ["Who is the director of the Brussels office?", "who heads the office in Brussels",
            "Qui est à la tête du bureau bruxellois ?"]
DIRECTOR_HELD_OUT = "Qui dirige le bureau de l'OIM à Bruxelles ?"  # in tests/heldout: never to be trained on
PERSONAL = ("My email is john.smith@mail.example.com and my phone is +32 2 555 12 34, can you check my visa "
            "case?")
# Personal data in the conversations, none of which may appear in the report.
SECRETS = ["john.smith@mail.example.com", "john.smith", "+32 2 555 12 34", "555 12 34", "jane.doe@example.org",
           "jane.doe", "0470 12 34 56", "BE71 0961 2345 6769", "BE71", "20261234567"]


@dataclass
class Q:
    """A user message and the assistant's reply."""
    text: str
    intent: Optional[str]  # what the reply was chosen for (None: no reply stored)
    kind: Optional[str] = "answer"  # the reply's kind (bot/protocol.py ReplyKind); None: no reply
    entry: Optional[str] = None
    confidence: float = 0.95
    second: Tuple[str, float] = ("greet", 0.01)
    nlu: Optional[str] = None  # the NLU's best intent, when not the reply's (a fallback's)
    fallback: Optional[str] = None  # low_confidence | ambiguous
    language: Optional[str] = "en"  # what the NLU detected (None: a button payload, not classified)
    reply_language: str = "en"
    latency: float = 0.2  # seconds to the first bot event
    note: bool = False  # a one-line note before the reply (no turn record)
    feedback: List[Dict[str, object]] = field(default_factory=list)  # feedback slot values set in this turn
    at: Optional[str] = None  # local time, when not TURN_GAP after the previous message


@dataclass
class Conversation:
    sender: str
    start: str  # local time of the first message
    turns: List[Q]


def fr(text: str, intent: Optional[str], **kw) -> Q:
    return Q(text, intent, language="fr", reply_language="fr", **kw)


def unsure(text: str, nlu: str, confidence: float, second: Tuple[str, float], reason: str = "low_confidence",
           kind: str = "fallback", **kw) -> Q:
    """A question the NLU fell back on: `nlu` was its best intent, at `confidence`."""
    return Q(text, "nlu_fallback", kind, nlu=nlu, confidence=confidence, second=second, fallback=reason, **kw)


def click(payload: str, intent: str, kind: str = "message", language: str = "en", latency: float = 0.05,
          **kw) -> Q:
    """A button's payload: no language of its own (the NLU's language classifier does not see it)."""
    return Q(payload, intent, kind, confidence=1.0, language=None, reply_language=language, latency=latency, **kw)


CONVERSATIONS = [
    Conversation("rest:before-the-period", "2026-11-01 23:30", [
        unsure(GENEVA[0], "ask_website", 0.41, ("ask_office_role", 0.3))]),
    Conversation("socketio:s-001", "2026-11-02 00:20", [
        click("/greet", "greet"),
        Q("When was the Brussels office established?", "ask_history", entry="office_established", confidence=0.97,
          second=("ask_history_why", 0.02), latency=0.3),
        click("/ask_history_why", "ask_history_why", "answer", entry="office_context", latency=0.1),
        click('/feedback{"rating": "up", "entry": "office_established"}', "feedback",
              feedback=[{"entry": "office_established", "rating": "up", "reason": None, "comment": None}]),
    ]),
    Conversation("rest:r-002", "2026-11-02 10:00", [
        unsure(GENEVA[0], "ask_website", 0.41, ("ask_office_role", 0.30), latency=0.5),
        Q("What is IOM?", "ask_iom", entry="iom_about", confidence=0.99),
        Q("What are the priorities?", "ask_priorities", entry="priorities_overview", latency=0.25,
          at="2026-11-03 09:00"),
    ]),
    Conversation("slack:U0003", "2026-11-02 11:00", [
        fr("Quand le bureau a-t-il été créé ?", "ask_history", entry="office_established", latency=0.4),
        unsure(DIRECTOR[2], "ask_unavailable", 0.46, ("ask_office_role", 0.40), "ambiguous", "did_you_mean",
               language="fr", reply_language="fr", latency=0.6),
    ]),
    Conversation("socketio:s-004", "2026-11-03 14:00", [
        unsure(GENEVA[2], "ask_website", 0.38, ("ask_iom_work", 0.25), language="fr", reply_language="fr",
               latency=0.45),
        fr("Quels sont les partenaires ?", "ask_partners", entry="partners_overview", confidence=0.93, latency=0.25),
        click('/feedback{"rating": "down", "entry": "partners_overview"}', "feedback", language="fr",
              feedback=[{"entry": "partners_overview", "rating": "down", "reason": None, "comment": None}]),
        click('/feedback{"reason": "missing", "entry": "partners_overview"}', "feedback", language="fr",
              feedback=[{"entry": "partners_overview", "rating": None, "reason": "missing", "comment": None}]),
        fr("Il manque des partenaires, écrivez-moi à jane.doe@example.org", "feedback", kind="message",
           latency=0.1, feedback=[{"entry": "partners_overview", "rating": None, "reason": None,
                                   "comment": "Il manque des partenaires, écrivez-moi à jane.doe@example.org"}]),
    ]),
    Conversation("rest:r-005", "2026-11-03 15:00", [
        Q(PERSONAL, "ask_personal_case", "message", confidence=0.88, second=("ask_unavailable", 0.05), latency=0.35),
        unsure(GENEVA[1], "ask_website", 0.44, ("ask_office_role", 0.31), latency=0.55),
    ]),
    Conversation("socketio:s-006", "2026-11-03 16:00", [
        Q("Wann wurde das Büro in Brüssel gegründet?", "ask_history", entry="office_established", confidence=0.91,
          language="de", latency=0.3),
    ]),
    Conversation("slack:U0007", "2026-11-04 09:30", [
        Q(DIRECTOR[0], "ask_unavailable", "message", confidence=0.82, second=("ask_office_role", 0.10), latency=0.4),
        Q("What's the weather like in Brussels today?", "out_of_scope", "message", confidence=0.9, latency=0.3),
        unsure("Tell me a joke <script>alert(1)</script>", "out_of_scope", 0.35, ("greet", 0.20), latency=0.25),
    ]),
    Conversation("socketio:s-008", "2026-11-04 11:00", [
        Q("When was the Brussels office established?", "ask_history", entry="office_established", latency=0.3),
        click('/feedback{"rating": "down", "entry": "office_established"}', "feedback",
              feedback=[{"entry": "office_established", "rating": "down", "reason": "wrong", "comment": None}]),
        Q("Call me on 0470 12 34 56, the date is wrong", "feedback", "message", latency=0.1,
          feedback=[{"entry": "office_established", "rating": None, "reason": None,
                     "comment": "Call me on 0470 12 34 56, the date is wrong"}]),
        Q("tell me more", "ask_more", "more", entry="office_established", confidence=0.96),
    ]),
    Conversation("rest:r-009", "2026-11-04 13:00", [
        unsure(DIRECTOR[1], "ask_unavailable", 0.50, ("ask_office_role", 0.22), latency=0.5),
        Q("Can I pay the fee from BE71 0961 2345 6769?", "ask_unavailable", "message", confidence=0.7, latency=0.3),
        Q("my case number is 20261234567", "ask_personal_case", "message", confidence=0.8, latency=0.3),
    ]),
    Conversation("socketio:s-010", "2026-11-05 10:00", [
        fr("Bonjour", "greet", kind="message", latency=0.05),
        fr("Qu'est-ce que l'OIM ?", "ask_iom", entry="iom_about", latency=0.2, note=True),
        click('/feedback{"rating": "up", "entry": "iom_about"}', "feedback", language="fr",
              feedback=[{"entry": "iom_about", "rating": "up", "reason": None, "comment": None}]),
    ]),
    Conversation("socketio:s-011", "2026-11-05 16:00", [
        Q("Hello", "greet", "message", latency=0.05),
        Q(DIRECTOR_HELD_OUT, "ask_unavailable", "message", confidence=0.8, second=("ask_office_role", 0.12),
          language="fr", latency=0.3),
        Q("What does the Brussels office do?", "ask_office_role", entry="office_role", latency=0.25),
        Q("And who funds it?", None, kind=None),
    ]),
    Conversation("socketio:after-the-period", "2026-11-06 00:10", [
        unsure(GENEVA[1], "ask_website", 0.44, ("ask_office_role", 0.31),
               feedback=[{"entry": "office_role", "rating": "down"}]),
    ]),
]


def _events(conversation: Conversation) -> list:
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

    channel = conversation.sender.split(":")[0]
    moment = datetime.strptime(conversation.start, "%Y-%m-%d %H:%M").replace(tzinfo=ZONE)
    events: list = [ActionExecuted("action_session_start", timestamp=moment.timestamp() - 1),
                    SessionStarted(timestamp=moment.timestamp() - 1),
                    ActionExecuted("action_listen", timestamp=moment.timestamp() - 1)]
    for i, q in enumerate(conversation.turns):
        if q.at:
            moment = datetime.strptime(q.at, "%Y-%m-%d %H:%M").replace(tzinfo=ZONE)
        elif i:
            moment += TURN_GAP
        t = moment.timestamp()
        top = q.nlu or q.intent or "ask_office_role"
        ranking = [{"name": top, "confidence": q.confidence}, {"name": q.second[0], "confidence": q.second[1]}]
        parse_data: dict = {"intent": ranking[0], "entities": [], "text": q.text, "intent_ranking": ranking}
        if q.fallback:
            parse_data["intent"] = {"name": "nlu_fallback", "confidence": 0.6}
            parse_data["intent_ranking"] = [parse_data["intent"], *ranking]
            parse_data["iom_fallback"] = {"reason": q.fallback, "threshold": 0.6}
        if q.language:
            parse_data["iom_language"] = {"language": q.language, "confidence": 0.97, "reliable": True}
        metadata = {"language": q.reply_language} if channel == "socketio" else {}
        events.append(UserUttered(q.text, parse_data["intent"], [], parse_data, timestamp=t, input_channel=channel,
                                  metadata=metadata))
        if q.kind is None:
            continue
        events.append(ActionExecuted("action_answer", timestamp=t + q.latency / 2))
        if q.note:
            events.append(BotUttered("(Switching to French.)", {}, {"lang": q.reply_language}, timestamp=t + q.latency))
        turn = {"intent": q.intent, "confidence": q.confidence, "entry": q.entry, "kind": q.kind,
                "language": q.reply_language}
        events.append(BotUttered(f"Reply to: {q.text}", {"buttons": []}, {"lang": q.reply_language, "turn": turn},
                                 timestamp=t + q.latency + (0.05 if q.note else 0)))
        events += [SlotSet("feedback", value, timestamp=t + q.latency + 0.01) for value in q.feedback]
        if q.entry:
            events.append(SlotSet("last_entry", q.entry, timestamp=t + q.latency + 0.01))
        events.append(ActionExecuted("action_listen", timestamp=t + q.latency + 0.02))
    return events


def build_tracker_db(path: Path) -> Path:
    """Writes CONVERSATIONS into a new SQLite tracker store at `path`."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.settings import ROOT
    from bot.stores.tracker_store import StrictSQLTrackerStore

    # The feedback slot (set by the feedback buttons), in case domain.yml does not declare it yet.
    feedback = {"slots": {"feedback": {"type": "any", "influence_conversation": False,
                                       "mappings": [{"type": "custom"}]}}}
    domain = Domain.load(str(ROOT / "domain.yml")).merge(Domain.from_dict(feedback))
    store = StrictSQLTrackerStore(domain, dialect="sqlite", db=str(path))
    for conversation in CONVERSATIONS:
        tracker = DialogueStateTracker.from_events(conversation.sender, _events(conversation), domain.slots)
        asyncio.run(store.save(tracker))
    store.engine.dispose()
    return path


def turn_log_lines() -> List[str]:
    """A server log: 20 turns in the period with latencies 100, 200, ... 2000 ms (p50 1050, p95 1905), one
    after it and one before it (99999 ms, must not count), an error line and other loggers' lines."""
    lines = ["2026-11-01 23:59:59 INFO     iom.turns  - turn sender=aaaaaaaaaaaa channel=rest intent=greet "
             "confidence=1.0 entry=- reply=message latency_ms=99999 text='/greet'"]
    for i in range(20):
        day = 2 + i % 4
        channel = ("socketio", "rest", "slack", "socketio")[i % 4]
        lines.append(f"2026-11-0{day} 1{i % 10}:00:0{i % 10} INFO     iom.turns  - turn sender=0123456789ab "
                     f"channel={channel} intent=ask_history confidence=0.97 entry=office_established reply=answer "
                     f"latency_ms={100 * (i + 1)} text='When was it founded?'")
        lines.append("2026-11-02 10:00:00 INFO     rasa.core.processor  - something else latency_ms=5")
    lines.append("2026-11-03 12:00:00 ERROR    iom.turns  - turn without an answer for sender 0123456789ab on rest")
    lines.append("2026-11-06 00:00:00 INFO     iom.turns  - turn sender=aaaaaaaaaaaa channel=rest intent=greet "
                 "confidence=1.0 entry=- reply=message latency_ms=99999 text='/greet'")
    return lines


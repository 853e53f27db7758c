"""The figures of `make report`, computed from a scan as plain data (JSON-ready).

The HTML page (tools/report.py) shows them and embeds them whole as JSON, so a test or another tool reads
exactly what the page shows. Definitions:
- messages: every user message; questions: the typed ones (button clicks excluded). Outcome rates are
  shares of questions: a click always gets its answer, so counting clicks would flatter the rates.
- a conversation counts on each day it has a message; its language on a day (or over the period) is the
  language of most of its messages then.
- low confidence / near tie: typed questions on which the NLU fell back (below the confidence threshold, or
  its two best intents closer than the ambiguity threshold: config.yml), with those two intents.
- feedback: one rating per conversation and answer (the latest value of each field, tools/conversations.py).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence

from tools.conversations import Feedback, Outcome, Scan, Turn, most_common
from tools.latency import Latencies, summary
from tools.meaning_groups import Group

RATE_OUTCOMES = (Outcome.ANSWERED, Outcome.FALLBACK, Outcome.OUT_OF_SCOPE, Outcome.DID_YOU_MEAN, Outcome.NO_DETAIL)
TOP_ANSWERS = 15
SHOWN_WORDINGS = 5
FEEDBACK_REASONS = ("wrong", "missing", "unclear")


def _share(part: int, whole: int) -> Optional[float]:
    return round(part / whole, 4) if whole else None


def _minute(turn_time: Any) -> str:
    return turn_time.strftime("%Y-%m-%d %H:%M")


def _activity(turns: Sequence[Turn]) -> Dict[str, Any]:
    """Conversations, messages and outcomes of some turns (a day's, or the period's)."""
    by_conversation: Dict[int, List[Turn]] = defaultdict(list)
    for turn in turns:
        by_conversation[turn.conversation].append(turn)
    questions = [t for t in turns if not t.payload]
    outcomes = Counter(t.outcome.value for t in questions)
    return {
        "conversations": {
            "total": len(by_conversation),
            "by_channel": dict(sorted(Counter(ts[0].channel for ts in by_conversation.values()).items())),
            "by_language": dict(sorted(Counter(most_common([t.language for t in ts])
                                               for ts in by_conversation.values()).items())),
        },
        "messages": {
            "total": len(turns), "questions": len(questions), "clicks": len(turns) - len(questions),
            "by_channel": dict(sorted(Counter(t.channel for t in turns).items())),
            "by_language": dict(sorted(Counter(t.language for t in turns).items())),
        },
        "outcomes": {o.value: outcomes.get(o.value, 0) for o in Outcome},
        "rates": {o.value: _share(outcomes.get(o.value, 0), len(questions)) for o in RATE_OUTCOMES},
    }


def _top_answers(turns: Iterable[Turn], title: Callable[[str], str]) -> List[Dict[str, Any]]:
    counts = Counter(t.entry for t in turns if t.outcome == Outcome.ANSWERED and t.entry)
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda ec: (-ec[1], ec[0]))[:TOP_ANSWERS]
    return [{"entry": e, "title": title(e), "count": c, "share": _share(c, total)} for e, c in ranked]


def group_figures(group: Group) -> Dict[str, Any]:
    return {
        "number": group.number, "anchor": group.anchor, "count": group.count,
        "first_seen": _minute(group.first_seen), "last_seen": _minute(group.last_seen),
        "wordings": [{"text": w.text, "count": w.count, "language": w.language} for w in group.wordings],
        "languages": group.languages,
        "outcomes": {o.value: n for o, n in group.outcomes.items()},
        "closest_intents": [[i, round(c, 3)] for i, c in group.closest_intents[:3]],
        "conversations": sorted({t.conversation for t in group.turns}),
    }


def _uncertain(turns: Iterable[Turn]) -> Dict[str, Any]:
    flagged = [t for t in turns if not t.payload and t.fallback_reason]
    pairs = Counter(tuple(sorted(i for i, _ in t.competing)) for t in flagged if len(t.competing) == 2)
    return {
        "count": len(flagged),
        "low_confidence": sum(t.fallback_reason == "low_confidence" for t in flagged),
        "near_tie": sum(t.fallback_reason == "ambiguous" for t in flagged),
        "pairs": [{"intents": list(p), "count": n} for p, n in sorted(pairs.items(), key=lambda pn: (-pn[1], pn[0]))],
        "turns": [{"conversation": t.conversation, "at": _minute(t.at), "text": t.text, "language": t.language,
                   "reason": t.fallback_reason, "intents": [[i, round(c, 3)] for i, c in t.competing],
                   "reply": t.outcome.value} for t in flagged],
    }


def _feedback(feedback: Iterable[Feedback], title: Callable[[str], str]) -> List[Dict[str, Any]]:
    by_entry: Dict[str, List[Feedback]] = defaultdict(list)
    for f in feedback:
        by_entry[f.entry].append(f)
    rows = []
    for entry, given in by_entry.items():
        reasons = Counter(f.reason for f in given if f.reason)
        rows.append({
            "entry": entry, "title": title(entry),
            "up": sum(f.rating == "up" for f in given), "down": sum(f.rating == "down" for f in given),
            "reasons": {r: reasons.get(r, 0) for r in sorted(set(FEEDBACK_REASONS) | set(reasons))},
            "comments": [{"text": f.comment, "rating": f.rating, "reason": f.reason, "at": _minute(f.at)}
                         for f in sorted(given, key=lambda f: f.at) if f.comment],
        })
    return sorted(rows, key=lambda r: (-r["down"], -(r["up"] + r["down"]), r["entry"]))


def figures(scan: Scan, groups: Sequence[Group], latencies: Latencies, titles: Mapping[str, str]) -> Dict[str, Any]:
    """Every figure of the report. `titles`: content entry id -> its English title."""
    def title(entry: str) -> str:
        return titles.get(entry, entry)

    by_day: Dict[date, List[Turn]] = defaultdict(list)
    for turn in scan.turns:
        by_day[turn.day].append(turn)
    return {
        "period": {"from": scan.period.first.isoformat(), "to": scan.period.last.isoformat(),
                   "timezone": str(scan.period.zone)},
        "source": scan.source,
        "events": scan.events,
        "totals": _activity(scan.turns),
        "days": [{"day": day.isoformat(), **_activity(by_day.get(day, []))} for day in scan.period.days()],
        "top_answers": _top_answers(scan.turns, title),
        "groups": [group_figures(g) for g in groups],
        "uncertain": _uncertain(scan.turns),
        "feedback": _feedback(scan.feedback, title),
        "latency": summary(latencies),
    }

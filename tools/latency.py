"""How long visitors waited for replies, for `make report`.

Two sources. The turn log (the `iom.turns` lines of the server's output, `--turn-log FILE`) has the latency
the channel measured, from the message's arrival to the reply's departure, for every turn including those
that failed. Without it, the tracker store gives the time from the user event to the first bot event: a
little shorter (the NLU ran before the user event is stamped), and only for turns Rasa stored.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import numpy as np

from tools.conversations import Period, Turn

# 2026-11-28 14:25:26 INFO     iom.turns  - turn sender=41579ae71aae channel=socketio ... latency_ms=53 text='/greet'
TURN_LOG_LINE = re.compile(r"^(?P<at>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})\S*\s+\w+\s+iom\.turns\s+-\s+turn "
                           r"sender=\S+ channel=(?P<channel>\S+) .*?\blatency_ms=(?P<ms>\d+(?:\.\d+)?)\b")
PERCENTILES = (50, 95)


@dataclass(frozen=True)
class Sample:
    day: date
    channel: str
    ms: float


@dataclass(frozen=True)
class Latencies:
    source: str  # where the samples come from, said in the report
    samples: List[Sample]


def from_turn_log(path: Path, period: Period) -> Latencies:
    """The turns of `period` in a server log; its timestamps are read in the period's time zone."""
    samples = []
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            found = TURN_LOG_LINE.match(line)
            if not found:
                continue
            at = datetime.fromisoformat(found["at"].replace("T", " ")).replace(tzinfo=period.zone)
            if at in period:
                samples.append(Sample(at.date(), found["channel"], float(found["ms"])))
    return Latencies(f"the turn log {path.name} (latency_ms of each iom.turns line)", samples)


def from_turns(turns: Iterable[Turn]) -> Latencies:
    samples = [Sample(t.day, t.channel, t.latency_ms) for t in turns if t.latency_ms is not None]
    return Latencies("the tracker store (time from each user event to the first bot event; no --turn-log given)",
                     samples)


def percentiles(values: List[float]) -> Dict[str, Optional[float]]:
    """p50 and p95 (linear interpolation between the closest ranks), rounded to the millisecond."""
    if not values:
        return {f"p{p}_ms": None for p in PERCENTILES}
    found = np.percentile(np.asarray(values, dtype=float), PERCENTILES)
    return {f"p{p}_ms": round(float(v), 1) for p, v in zip(PERCENTILES, found, strict=True)}


def summary(latencies: Latencies) -> dict:
    """Overall, per channel and per day: sample count, p50 and p95."""
    by_channel: Dict[str, List[float]] = defaultdict(list)
    by_day: Dict[date, List[float]] = defaultdict(list)
    for s in latencies.samples:
        by_channel[s.channel].append(s.ms)
        by_day[s.day].append(s.ms)
    return {
        "source": latencies.source,
        "count": len(latencies.samples),
        **percentiles([s.ms for s in latencies.samples]),
        "by_channel": {c: {"count": len(v), **percentiles(v)} for c, v in sorted(by_channel.items())},
        "by_day": [{"day": d.isoformat(), "count": len(v), **percentiles(v)} for d, v in sorted(by_day.items())],
    }

"""Grades the dev cases (tests/dev_cases.yml) against a running bot through its REST channel.

Each case is a fresh conversation; the bot's reply to the last turn (texts and button titles) is graded as
the file's header describes. Prints per-category scores and every miss. Used by `make eval` and the
integration test.
"""
from __future__ import annotations

import argparse
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List

import requests
import yaml

CASES_FILE = Path(__file__).resolve().parents[1] / "tests" / "dev_cases.yml"
# The facts an out-of-scope reply must not contain (from the header of dev_cases.yml).
FACT_MARKERS = ["2011", "1951", "175 ", "Lisbon", "EURCAP", "Readmission", "AVRR", "Border Management",
                "trade union", "think tank", "2030", "Election", "diaspora", "Assisted Voluntary"]


@dataclass
class Result:
    case: dict
    reply: str
    passed: bool

    @property
    def category(self) -> str:
        return "context" if len(self.case["turns"]) > 1 else self.case["kind"]


@dataclass
class Report:
    results: List[Result] = field(default_factory=list)

    def by_category(self) -> Dict[str, List[Result]]:
        groups = defaultdict(list)
        for r in self.results:
            groups[r.category].append(r)
        return groups

    def score(self, category: str) -> float:
        group = self.by_category().get(category, [])
        return sum(r.passed for r in group) / len(group) if group else 0.0

    def render(self) -> str:
        lines = []
        for category, group in sorted(self.by_category().items()):
            passed = sum(r.passed for r in group)
            lines.append(f"{category:13s} {passed:3d}/{len(group):<3d} {100 * passed / len(group):5.1f} %")
        total = sum(r.passed for r in self.results)
        lines.append(f"{'all':13s} {total:3d}/{len(self.results):<3d} {100 * total / len(self.results):5.1f} %")
        misses = [r for r in self.results if not r.passed]
        if misses:
            lines.append("\nMisses:")
            for r in misses:
                lines.append(f"- {r.case['id']} {r.case['turns']!r}\n    expected {r.case.get('expect')}; got: "
                             f"{' '.join(r.reply.split())[:200]!r}")
        return "\n".join(lines)


def reply_text(messages: List[dict]) -> str:
    parts = []
    for message in messages:
        parts.append(message.get("text") or "")
        parts.extend(button.get("title", "") for button in message.get("buttons") or [])
    return "\n".join(parts)


def grade(case: dict, reply: str) -> bool:
    lowered = reply.lower()
    if case["kind"] == "out_of_scope":
        return bool(reply.strip()) and not any(marker.lower() in lowered for marker in FACT_MARKERS)
    return bool(reply.strip()) and all(any(s.lower() in lowered for s in group) for group in case["expect"])


def run_case(session: requests.Session, url: str, case: dict) -> Result:
    sender = f"eval-{case['id']}-{uuid.uuid4().hex[:8]}"
    messages: List[dict] = []
    for turn in case["turns"]:
        response = session.post(url, json={"sender": sender, "message": turn}, timeout=30)
        response.raise_for_status()
        messages = response.json()
    reply = reply_text(messages)
    return Result(case, reply, grade(case, reply))


def evaluate(base_url: str, cases_file: Path = CASES_FILE) -> Report:
    cases = yaml.safe_load(cases_file.read_text(encoding="utf-8"))["cases"]
    url = base_url.rstrip("/") + "/webhooks/rest/webhook"
    with requests.Session() as session:
        return Report([run_case(session, url, case) for case in cases])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:5005", help="base URL of the running Rasa server")
    parser.add_argument("--cases", type=Path, default=CASES_FILE)
    args = parser.parse_args()
    try:
        report = evaluate(args.url, args.cases)
    except requests.RequestException as exc:
        print(f"cannot reach the bot at {args.url} ({exc}); start it with `make run`", file=sys.stderr)
        return 2
    print(report.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())

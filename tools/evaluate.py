"""Grades conversation cases against a running bot through its REST channel (`make eval`, the held-out gate).

Case files: tests/dev_cases.yml and ../shared/eval/*.yml (development sets: looked at, never trained on) and
tests/heldout/*.yml (held-out: written apart from the training data, never trained on or tuned against; see
the README). Each case is a fresh conversation:

    - id: fr-001
      kind: answer            # answer | chitchat | out_of_scope
      lang: fr                # the visitor's language
      turns: ["Quand le bureau a-t-il été créé ?"]       # or {say: ..., expect: ..., kind: ..., reply_lang: ...}
      expect: [["2011"], ["septembre"]]

A checked turn (the last one, and every mapping turn) passes when:
- answer / chitchat: every `expect` group matches (any of its strings occurs, ignoring case and ’/'
  typography, in the reply's text or button titles), and the reply is in the right language: the turn's
  `reply_lang`, else the case's language when it is English or French, else English or French;
- out_of_scope: there is a reply and it states no content fact: none of its texts is an entry's answer or
  "more" text in any language, and none contains a FACT_MARKER.
A reply's language is the language of the content text it is made of (`Content.language_of`).
"""
from __future__ import annotations

import argparse
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

import requests

from bot.answers.content_store import LANGUAGES, Content, load_content, normalise
from bot.settings import ROOT
from tools.files import read_yaml

CASES_FILE = ROOT / "tests" / "dev_cases.yml"
HELD_OUT_DIR = ROOT / "tests" / "heldout"
# Facts an out-of-scope reply must not contain, whatever the language.
FACT_MARKERS = ["2011", "1951", "175 ", "Lisbon", "EURCAP", "Readmission", "réadmission", "AVRR", "Border Management",
                "gestion européenne intégrée", "trade union", "syndicat", "think tank", "groupes de réflexion", "2030",
                "Election", "électora", "diaspora", "Assisted Voluntary", "retour volontaire"]
# Held-out gates (issue 11): the share of cases of each category answered right through the served bot.
GATES = {"en": 0.95, "fr": 0.90, "other languages": 0.70, "out of scope": 0.95, "conversations en": 0.90,
         "conversations fr": 0.90}


@dataclass
class Turn:
    say: str
    kind: Optional[str] = None  # None: not checked
    expect: Sequence[Sequence[str]] = ()
    reply_lang: Optional[str] = None


@dataclass
class Result:
    case: dict
    passed: bool
    failed_turn: Optional[str] = None
    reply: str = ""
    why: str = ""

    @property
    def category(self) -> str:
        lang = self.case.get("lang", "en")
        if len(self.case["turns"]) > 1:
            return f"conversations {lang if lang in LANGUAGES else 'other'}"
        if self.case["kind"] == "out_of_scope":
            return "out of scope"
        return lang if lang in LANGUAGES else "other languages"


@dataclass
class Report:
    results: List[Result] = field(default_factory=list)

    def by_category(self) -> Dict[str, List[Result]]:
        groups: Dict[str, List[Result]] = defaultdict(list)
        for r in self.results:
            groups[r.category].append(r)
        return groups

    def score(self, category: str) -> float:
        group = self.by_category().get(category, [])
        return sum(r.passed for r in group) / len(group) if group else 0.0

    def render(self, misses: bool = True) -> str:
        lines = []
        for category, group in sorted(self.by_category().items()):
            passed = sum(r.passed for r in group)
            gate = f"   (gate {GATES[category]:.0%})" if category in GATES else ""
            lines.append(f"{category:18s} {passed:4d}/{len(group):<4d} {100 * passed / len(group):5.1f} %{gate}")
        total = sum(r.passed for r in self.results)
        lines.append(f"{'all':18s} {total:4d}/{len(self.results):<4d} {100 * total / max(1, len(self.results)):5.1f} %")
        wrong = [r for r in self.results if not r.passed]
        if misses and wrong:
            lines.append("\nMisses:")
            for r in wrong:
                lines.append(f"- {r.case['id']} [{r.category}] {r.failed_turn!r}: {r.why}\n    got: "
                             f"{' '.join(r.reply.split())[:160]!r}")
        return "\n".join(lines)


def turns_of(case: dict) -> List[Turn]:
    turns = []
    for i, raw in enumerate(case["turns"]):
        last = i == len(case["turns"]) - 1
        if isinstance(raw, dict):
            turns.append(Turn(raw["say"], raw.get("kind") or ("out_of_scope" if case["kind"] == "out_of_scope" and
                                                              "expect" not in raw else "answer"),
                              raw.get("expect") or (), raw.get("reply_lang")))
        elif last:
            turns.append(Turn(raw, case["kind"], case.get("expect") or (), None))
        else:
            turns.append(Turn(raw))
    return turns


def reply_texts(messages: List[dict]) -> List[str]:
    return [m.get("text") or "" for m in messages]


def reply_text(messages: List[dict]) -> str:
    parts = []
    for message in messages:
        parts.append(message.get("text") or "")
        parts.extend(button.get("title", "") for button in message.get("buttons") or [])
    return "\n".join(parts)


def fold(text: str) -> str:
    """Case, typography and line breaks folded: a reply writing l’OIM matches an expected l'OIM, and
    "Nations\nUnies" (one line once the Markdown is rendered) matches "Nations unies"."""
    return " ".join(text.translate(TYPOGRAPHY).lower().split())  # a Markdown line break reads as a space


TYPOGRAPHY = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00a0": " ", "\u202f": " ", "\u2013": "-",
                            "\u201c": '"', "\u201d": '"'})


def judge(turn: Turn, case: dict, messages: List[dict], content: Content) -> Optional[str]:
    """Why the reply to `turn` is wrong, or None when it is right."""
    texts = [t for t in reply_texts(messages) if t.strip()]
    if not texts:
        return "no reply"
    whole = reply_text(messages)
    if turn.kind == "out_of_scope":
        facts = {normalise(t) for e in content.entries.values() for localized in (e.answer, e.more or {})
                 for t in localized.values()}
        if any(normalise(t) in facts for t in texts):
            return "answered with a content fact"
        found = [m for m in FACT_MARKERS if fold(m) in fold(whole)]
        return f"states a fact ({found[0]!r})" if found else None
    missing = [group for group in turn.expect if not any(fold(s) in fold(whole) for s in group)]
    if missing:
        return f"expected one of {missing[0]}"
    languages = {content.language_of(t) for t in texts}
    wanted = turn.reply_lang or (case.get("lang") if case.get("lang") in LANGUAGES else None)
    if wanted and languages != {wanted}:
        return f"reply in {sorted(str(x) for x in languages)}, expected {wanted}"
    if not wanted and not languages <= set(LANGUAGES):
        return f"reply in {sorted(str(x) for x in languages)}, expected English or French"
    return None


def run_case(session: requests.Session, url: str, case: dict, content: Content) -> Result:
    sender = f"eval-{case['id']}-{uuid.uuid4().hex[:8]}"
    for turn in turns_of(case):
        response = session.post(url, json={"sender": sender, "message": turn.say}, timeout=60)
        response.raise_for_status()
        messages = response.json()
        if turn.kind is not None:
            why = judge(turn, case, messages, content)
            if why:
                return Result(case, False, turn.say, reply_text(messages), why)
    return Result(case, True)


def load_cases(files: Iterable[Path]) -> List[dict]:
    return [case for path in files for case in read_yaml(Path(path))["cases"]]


def evaluate(base_url: str, files: Iterable[Path] = (CASES_FILE,), content: Optional[Content] = None) -> Report:
    content = content or load_content()
    url = base_url.rstrip("/") + "/webhooks/rest/webhook"
    with requests.Session() as session:
        return Report([run_case(session, url, case, content) for case in load_cases(files)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:5005", help="base URL of the running Rasa server")
    parser.add_argument("--cases", type=Path, nargs="+", default=[CASES_FILE],
                        help="case files (default: tests/dev_cases.yml; e.g. tests/heldout/*.yml)")
    parser.add_argument("--no-misses", action="store_true", help="scores only (keeps held-out questions unseen)")
    args = parser.parse_args()
    try:
        report = evaluate(args.url, args.cases)
    except requests.RequestException as exc:
        print(f"cannot reach the bot at {args.url} ({exc}); start it with `make run`", file=sys.stderr)
        return 2
    print(report.render(misses=not args.no_misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())

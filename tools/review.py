"""`make review`: go through the unanswered questions, group by group, in the terminal.

    python -m tools.review [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--db URL] [--data-dir DIR]
                           [--decisions FILE] [--backlog FILE]

The groups are those of `make report` (tools/meaning_groups.py) over the same period, made only of wordings
not decided before (tools/review_records.py). For each group: assign it to an intent (its wordings go to
the training file of their language, validated by Rasa before anything is written: tools/assignment.py),
mark it "needs content" (added to the content backlog editors read), ignore it, skip it for now, or quit.
A summary says what changed; `make train` then retrains on it.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set

import questionary
import yaml
from questionary import Choice, Separator

from bot.settings import ROOT
from tools.assignment import Assignment, plan
from tools.conversations import add_scan_arguments, scan_from_arguments
from tools.meaning_groups import DEFAULT_DISTANCE, Group, group_by_meaning
from tools.review_records import (
    ASSIGNED,
    DEFAULT_BACKLOG,
    DEFAULT_DECISIONS,
    IGNORED,
    NEEDS_CONTENT,
    Decisions,
    add_to_backlog,
)
from tools.training_data import DATA_DIR, examples, never_train_on, wording_key
from tools.validated_write import ValidationFailed

SHOWN_WORDINGS = 12
ACTIONS = [Choice("assign to an intent", "assign", shortcut_key="a"),
           Choice("needs content (to the content backlog)", "content", shortcut_key="n"),
           Choice("ignore", "ignore", shortcut_key="i"),
           Choice("skip for now", "skip", shortcut_key="s"),
           Choice("quit", "quit", shortcut_key="q")]
BACK = "back"


@dataclass
class Summary:
    added: Dict[str, List[str]] = field(default_factory=dict)  # "file (intent)" -> wordings
    not_added: List[str] = field(default_factory=list)
    backlog: int = 0
    ignored: int = 0
    skipped: int = 0
    failed: int = 0

    def lines(self, backlog: Path) -> List[str]:
        out = [f"Added {len(ws)} wording{'s' * (len(ws) != 1)} to {where}: " + "; ".join(ws)
               for where, ws in self.added.items()]
        out += [f"Not added: {line}" for line in self.not_added]
        if self.backlog:
            out.append(f"{self.backlog} group{'s' * (self.backlog != 1)} added to the content backlog ({backlog})")
        out.append(f"{self.ignored} ignored, {self.skipped} skipped for now"
                   + (f", {self.failed} not written (validation failed)" if self.failed else ""))
        out.append("Run `make train` to retrain on the new examples." if self.added else "No training data changed.")
        return out


def domain_intents() -> List[str]:
    return list(yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["intents"])


def _ask(question: Any) -> Any:
    """The answer, or None when the reviewer pressed Ctrl-C or Ctrl-D (taken as quit)."""
    return question.ask()


def show(group: Group, index: int, total: int) -> None:
    languages = ", ".join(f"{lang} {n}" for lang, n in group.languages.items())
    intents = ", ".join(f"{i} {c:.2f}" for i, c in group.closest_intents[:3]) or "none"
    print(f"\nGroup {index} of {total}: asked {group.count} time{'s' * (group.count != 1)} "
          f"({len(group.wordings)} wording{'s' * (len(group.wordings) != 1)}), {group.first_seen:%Y-%m-%d %H:%M} to "
          f"{group.last_seen:%Y-%m-%d %H:%M}; languages {languages}")
    print(f"The NLU's closest intents: {intents}")
    for w in group.wordings[:SHOWN_WORDINGS]:
        print(f"  - {w.text}  ({w.count}, {w.language})")
    if len(group.wordings) > SHOWN_WORDINGS:
        print(f"  ... and {len(group.wordings) - SHOWN_WORDINGS} more")


def choose_intent(group: Group, intents: Sequence[str]) -> Optional[str]:
    closest = [(i, c) for i, c in group.closest_intents if i in intents and c > 0]
    ranked = {i for i, _ in closest}
    choices: List[Any] = [Choice(f"{i}  (NLU {c:.2f})", i) for i, c in closest]
    if choices:
        choices.append(Separator())
    choices += [Choice(i, i) for i in sorted(intents) if i not in ranked]
    choices += [Separator(), Choice("← back", BACK)]
    return _ask(questionary.select("Assign to which intent?", choices=choices))


def choose_wordings(assignment: Assignment, data_dir: Path) -> Optional[List[Any]]:
    """The additions the reviewer keeps (all are checked); the wordings not added are shown, disabled."""
    if not assignment.additions:
        return []
    choices = [Choice(f"{a.text}  → {a.path.relative_to(data_dir.parent)}", a, checked=True)
               for a in assignment.additions]
    choices += [Choice(s.wording.text, s, disabled=s.why) for s in assignment.skipped]
    return _ask(questionary.checkbox("Wordings to add (space: toggle, enter: confirm)", choices=choices))


def assign(group: Group, intent: str, args: argparse.Namespace, decisions: Decisions, summary: Summary,
           training: Dict[str, str], never: Set[str]) -> bool:
    """Adds the group's wordings to `intent`; False if nothing was decided (back, or validation failed)."""
    assignment = plan(list(group.wordings), intent, args.data_dir, training, never)
    kept = choose_wordings(assignment, args.data_dir)
    if kept is None:
        return False
    for skip in assignment.skipped:
        print(f"  not added: {skip.wording.text!r} ({skip.why})")
    assignment.additions = [a for a in assignment.additions if a in kept]
    if assignment.additions:
        print("Checking the change with `rasa data validate` (about 15 s)...", flush=True)
        try:
            assignment.write()
        except ValidationFailed as exc:
            print(exc)
            summary.failed += 1
            return False
    for path, additions in assignment.by_file().items():
        where = f"{path.relative_to(args.data_dir.parent)} ({intent})"
        summary.added.setdefault(where, []).extend(a.text for a in additions)
        training.update({wording_key(a.text): intent for a in additions})
        print(f"  added {len(additions)} to {where}")
    summary.not_added += [f"{s.wording.text!r} ({s.why})" for s in assignment.skipped]
    decisions.record([a.wording for a in assignment.additions], ASSIGNED, intent=intent)
    decisions.record([s.wording for s in assignment.skipped], ASSIGNED, intent=intent, not_added=True)
    return True


def review(groups: List[Group], args: argparse.Namespace, decisions: Decisions) -> Summary:
    summary = Summary()
    intents = domain_intents()
    training = {wording_key(e.text): e.intent for e in examples(args.data_dir)}
    never = never_train_on()
    for index, group in enumerate(groups, start=1):
        show(group, index, len(groups))
        while True:
            action = _ask(questionary.select("What should happen to this group?", choices=ACTIONS,
                                             use_shortcuts=True))
            if action in (None, "quit"):
                summary.skipped += len(groups) - index + 1
                return summary
            if action == "assign":
                intent = choose_intent(group, intents)
                if intent is None:
                    summary.skipped += len(groups) - index + 1
                    return summary
                if intent == BACK or not assign(group, intent, args, decisions, summary, training, never):
                    continue
            elif action == "content":
                add_to_backlog(args.backlog, group, date.today())
                decisions.record(group.wordings, NEEDS_CONTENT)
                summary.backlog += 1
                print(f"  added to {args.backlog}")
            elif action == "ignore":
                decisions.record(group.wordings, IGNORED)
                summary.ignored += 1
            else:
                summary.skipped += 1
            break
    return summary


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scan_arguments(parser)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="the training data (default: data/)")
    parser.add_argument("--decisions", type=Path, default=DEFAULT_DECISIONS, help="where decisions are kept "
                        "(default: %(default)s)")
    parser.add_argument("--backlog", type=Path, default=DEFAULT_BACKLOG, help="the content backlog "
                        "(default: %(default)s)")
    parser.add_argument("--group-distance", type=float, default=DEFAULT_DISTANCE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.data_dir = args.data_dir.resolve()
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise SystemExit("error: make review asks questions: run it in a terminal")
    decisions = Decisions(args.decisions)
    scan = scan_from_arguments(args)
    undecided = [t for t in scan.turns if t.unanswered and not decisions.decided(wording_key(t.text))]
    groups = group_by_meaning(undecided, args.group_distance, sys.stderr)
    if not groups:
        print(f"No unanswered questions left to review from {scan.period}.")
        return 0
    print(f"{len(groups)} groups of unanswered questions from {scan.period} not reviewed yet.")
    summary = review(groups, args, decisions)
    print("\nSummary")
    for line in summary.lines(args.backlog):
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

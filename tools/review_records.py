"""What `make review` remembers and hands on: its decisions, and the content backlog editors read.

Decisions (var/review/decisions.json) are kept per wording (`wording_key`), not per group: groups are formed
anew from each scan, so a decided group stays away however the clustering turns out, and only a wording not
decided before can bring a question back. The file is rewritten after every decision (in one step), so
quitting or a crash loses nothing already decided.

The backlog (docs/content-backlog.md) is Markdown, newest last: what visitors asked that needs new content.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any, Dict, Iterable

from bot.settings import ROOT
from tools.files import write_atomically
from tools.meaning_groups import Group, Wording

DEFAULT_DECISIONS = ROOT / "var" / "review" / "decisions.json"
DEFAULT_BACKLOG = ROOT / "docs" / "content-backlog.md"
ASSIGNED, NEEDS_CONTENT, IGNORED = "assigned", "needs_content", "ignored"
BACKLOG_HEADER = """# Content backlog

Questions visitors asked that the assistant could not answer and that need new content, added by `make review`
(newest last; personal data masked). For each: write an entry in `bot/content/` (every fact quoted from the seed
text, see the README's "Editing an answer"), or note that the seed text has no answer; then remove the item.
"""


class Decisions:
    """The review's decisions, by wording key."""

    def __init__(self, path: Path = DEFAULT_DECISIONS) -> None:
        self.path = path
        self.wordings: Dict[str, Dict[str, Any]] = {}
        if path.exists():
            try:
                self.wordings = json.loads(path.read_text(encoding="utf-8"))["wordings"]
            except (ValueError, KeyError, TypeError) as exc:
                raise SystemExit(f"error: {path} is not a decisions file ({exc}); move it away to start afresh") \
                    from None

    def decided(self, key: str) -> bool:
        return key in self.wordings

    def record(self, wordings: Iterable[Wording], decision: str, **details: Any) -> None:
        at = datetime.now().astimezone().isoformat(timespec="seconds")
        for w in wordings:
            self.wordings[w.key] = {"decision": decision, "text": w.text, "language": w.language, "at": at,
                                    **{k: v for k, v in details.items() if v is not None}}
        write_atomically(self.path, json.dumps({"wordings": self.wordings}, ensure_ascii=False, indent=1,
                                               sort_keys=True) + "\n")


def backlog_item(group: Group, today: date) -> str:
    languages = ", ".join(f"{lang} {n}" for lang, n in group.languages.items())
    intents = ", ".join(f"{i} {c:.2f}" for i, c in group.closest_intents[:2]) or "none"
    lines = [f"## {today.isoformat()}: asked {group.count} times ({len(group.wordings)} wordings), "
             f"{group.first_seen:%Y-%m-%d} to {group.last_seen:%Y-%m-%d}", "",
             f"Languages: {languages}. The NLU's closest intents: {intents}.", ""]
    lines += [f"- {w.text} ({w.count}, {w.language})" for w in group.wordings]
    return "\n".join(lines) + "\n"


def add_to_backlog(path: Path, group: Group, today: date) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else BACKLOG_HEADER
    write_atomically(path, text.rstrip("\n") + "\n\n" + backlog_item(group, today))

"""Assigning reviewed wordings to an intent: which are added to which training file, which are not and why.

A wording is not added when it is a development or held-out question (held-out questions must never become
training data: they measure what nobody tuned for), when it already is a training example (of this intent,
or of another, where it would contradict it), when it repeats another wording of the same assignment, or when
it is too long to be an example. The rest go to the file of their language (tools/training_data.py), masked
and on one line; `write()` applies them all at once, validated by Rasa first (tools/validated_write.py).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Set, Tuple

from tools.meaning_groups import Wording
from tools.training_data import (
    MAX_WORDING_CHARS,
    DataEditError,
    add_examples,
    new_file_text,
    target_file,
    training_wording,
    wording_key,
)
from tools.validated_write import write_validated

HELD_OUT = "a development or held-out question: never trained on"


@dataclass(frozen=True)
class Addition:
    wording: Wording
    text: str  # the example line written
    path: Path


@dataclass(frozen=True)
class Skip:
    wording: Wording
    why: str


@dataclass
class Assignment:
    intent: str
    data_dir: Path
    additions: List[Addition] = field(default_factory=list)
    skipped: List[Skip] = field(default_factory=list)

    def by_file(self) -> Dict[Path, List[Addition]]:
        files: Dict[Path, List[Addition]] = defaultdict(list)
        for addition in self.additions:
            files[addition.path].append(addition)
        return dict(files)

    def changes(self) -> Dict[Path, Tuple[str, str]]:
        """Each file to write: (its text now, its text with the additions)."""
        changes = {}
        for path, additions in self.by_file().items():
            language = additions[0].wording.language
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            # data/nlu/en/ declares no language; every other block carries `metadata: {language: xx}`.
            declared = None if language == "en" else language
            base = current or new_file_text(language)
            changes[path] = (current, add_examples(base, self.intent, [a.text for a in additions], declared))
        return changes

    def write(self) -> None:
        write_validated(self.changes(), self.data_dir)


def plan(wordings: List[Wording], intent: str, data_dir: Path, training: Mapping[str, str],
         never: Set[str]) -> Assignment:
    """What assigning `wordings` to `intent` adds. `training`: example key -> its intent; `never`: the keys of
    the development and held-out questions."""
    assignment = Assignment(intent, data_dir)
    seen: Set[str] = set()
    for wording in wordings:
        text = training_wording(wording.text)
        why = _not_added(wording, text, training, never, seen)
        if why is None:
            try:
                assignment.additions.append(Addition(wording, text, target_file(data_dir, intent, wording.language)))
                seen.add(wording_key(text))
                continue
            except DataEditError as exc:
                why = str(exc)
        assignment.skipped.append(Skip(wording, why))
    return assignment


def _not_added(wording: Wording, text: str, training: Mapping[str, str], never: Set[str], seen: Set[str]
               ) -> Optional[str]:
    key = wording_key(text)
    if wording.key in never or key in never:
        return HELD_OUT
    if key in training:
        return f"already a training example of {training[key]}"
    if not key or key in seen:
        return "the same as another wording here"
    if len(text) > MAX_WORDING_CHARS:
        return f"longer than {MAX_WORDING_CHARS} characters"
    return None

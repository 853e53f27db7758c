"""The NLU training data (data/nlu/) as `make review` and the data hygiene tests see it.

- `examples()`: every training example with its intent, language and file.
- `never_train_on()`: the questions that must never become training data: the development and held-out sets
  (tests/dev_cases*.yml, tests/heldout/*.yml, ../shared/eval/*.yml, tests/nlu_holdout.yml).
- `wording_key()`: the comparison both use: case, punctuation and entity annotations ignored.
- `add_examples()`: a file's text with wordings appended to one intent's `examples: |` block, by editing the
  text (not by re-dumping the YAML), so comments, order and formatting stay; checked by parsing the result.
- `target_file()`: where an intent's examples in a language live: data/nlu/en/ and data/nlu/fr/ hold each
  intent in one topic file; other languages have one file each, data/nlu/other/<code>.yml, whose intent
  blocks carry `metadata: {language: <code>}`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Set, Tuple

import yaml

from bot.settings import ROOT
from tools.evaluate import CASES_FILE, HELD_OUT_DIR, load_cases, turns_of
from tools.files import read_yaml

DATA_DIR = ROOT / "data"
NLU_HOLDOUT = ROOT / "tests" / "nlu_holdout.yml"
SHARED_EVAL_DIR = ROOT.parent / "shared" / "eval"
OWN_DIRECTORY_LANGUAGES = ("en", "fr")  # data/nlu/<language>/<topic>.yml; the others: data/nlu/other/<code>.yml
OTHER_DIR = "other"
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
ENTITY_ANNOTATION = re.compile(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})")
INTENT_LINE = re.compile(r"^(?P<indent> *)- intent: *(?P<name>[^\s#]+)")
EXAMPLES_LINE = re.compile(r"^ *examples: *\|[-+]? *(#.*)?$")
MAX_WORDING_CHARS = 300  # longer messages are not the kind of example the classifiers learn from


class DataEditError(ValueError):
    """An edit of a data file could not be made safely; the message says why."""


@dataclass(frozen=True)
class Example:
    intent: str
    text: str
    language: str
    path: Path


def wording_key(text: str) -> str:
    """What makes two wordings the same example: case, punctuation, spacing and entity annotations ignored."""
    text = ENTITY_ANNOTATION.sub(r"\1", text)
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _example_lines(block_text: str) -> List[str]:
    return [line.strip()[2:] for line in block_text.splitlines() if line.strip().startswith("- ")]


def examples(data_dir: Path = DATA_DIR) -> Iterator[Example]:
    """Every intent example under `data_dir`/nlu, with the language its block declares (English by default)."""
    for path in sorted((data_dir / "nlu").rglob("*.yml")):
        for block in read_yaml(path).get("nlu") or []:
            if "intent" in block:
                language = (block.get("metadata") or {}).get("language", "en")
                for text in _example_lines(block.get("examples") or ""):
                    yield Example(block["intent"], text, language, path)


def case_files() -> List[Path]:
    """The conversation case files of the development and held-out sets."""
    return [*sorted(CASES_FILE.parent.glob("dev_cases*.yml")), *sorted(HELD_OUT_DIR.glob("*.yml")),
            *sorted(SHARED_EVAL_DIR.glob("*.yml"))]


def case_questions() -> List[str]:
    """Every visitor turn of the development and held-out cases."""
    return [turn.say for case in load_cases(case_files()) for turn in turns_of(case)]


def holdout_examples() -> List[str]:
    """The examples of the held-out NLU set (tests/nlu_holdout.yml)."""
    blocks = read_yaml(NLU_HOLDOUT)["nlu"]
    return [text for block in blocks for text in _example_lines(block.get("examples") or "")]


def never_train_on() -> Set[str]:
    """The keys (`wording_key`) of every development and held-out question."""
    return {wording_key(t) for t in [*case_questions(), *holdout_examples()]}


# ---------------------------------------------------------------------------------------------- editing

def training_wording(text: str) -> str:
    """A visitor's message as one example line: one line, printable, and no [ ] { } that Rasa would read as
    an entity annotation."""
    text = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(text.translate(str.maketrans("[]{}", "()()")).split())


def target_file(data_dir: Path, intent: str, language: str) -> Path:
    """The file that takes `intent`'s examples in `language`."""
    if language in OWN_DIRECTORY_LANGUAGES:
        for path in sorted((data_dir / "nlu" / language).glob("*.yml")):
            blocks = read_yaml(path).get("nlu") or []
            if any(block.get("intent") == intent for block in blocks):
                return path
        raise DataEditError(f"no file in {data_dir / 'nlu' / language} holds the intent {intent}")
    if not LANGUAGE_CODE.match(language):
        raise DataEditError(f"{language!r} is not a language code")
    return data_dir / "nlu" / OTHER_DIR / f"{language}.yml"


def new_file_text(language: str) -> str:
    return (f'version: "3.1"\n# Examples in {language!r} added by `make review` from visitors\' questions (masked).\n'
            "nlu:\n")


def add_examples(text: str, intent: str, wordings: Sequence[str], language: Optional[str] = None) -> str:
    """`text`, an NLU file, with `wordings` appended to the end of `intent`'s examples. Without such a block,
    a new one is added at the end of the file, with `metadata: {language: ...}` unless `language` is None."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    block = _block(lines, intent)
    if block is None:
        new_lines = [f"- intent: {intent}\n"]
        if language:
            new_lines.append(f"  metadata: {{language: {language}}}\n")
        new_lines += ["  examples: |\n", *(f"    - {w}\n" for w in wordings)]
        updated = "".join(lines + new_lines)
    else:
        at, indent = _end_of_examples(lines, block[0], block[1], intent)
        updated = "".join(lines[:at] + [f"{indent}- {w}\n" for w in wordings] + lines[at:])
    _check_added(text, updated, intent, wordings)
    return updated


def _block(lines: List[str], intent: str) -> Optional[Tuple[int, int]]:
    """(first line, line after the last) of the `- intent: <intent>` block."""
    for i, line in enumerate(lines):
        found = INTENT_LINE.match(line)
        if found and found["name"] == intent:
            depth = len(found["indent"])
            for j in range(i + 1, len(lines)):
                stripped = lines[j].strip()
                if stripped and len(lines[j]) - len(lines[j].lstrip(" ")) <= depth:
                    return i, j
            return i, len(lines)
    return None


def _end_of_examples(lines: List[str], start: int, end: int, intent: str) -> Tuple[int, str]:
    """Where new examples go (after the block's last example) and their indentation."""
    header = next((i for i in range(start, end) if EXAMPLES_LINE.match(lines[i])), None)
    items = [i for i in range(header + 1, end) if lines[i].lstrip().startswith("- ")] if header is not None else []
    if not items:
        raise DataEditError(f"the block of {intent} has no `examples: |` list to append to")
    last = items[-1]
    return last + 1, lines[last][:len(lines[last]) - len(lines[last].lstrip(" "))]


def _check_added(before: str, after: str, intent: str, wordings: Sequence[str]) -> None:
    """The edited file parses, and differs from the original only by these examples at the end of the intent."""
    try:
        old = yaml.safe_load(before) or {}
        new = yaml.safe_load(after) or {}
    except yaml.YAMLError as exc:
        raise DataEditError(f"the edit would not be valid YAML ({exc})") from None
    old_blocks = [b for b in old.get("nlu") or [] if b.get("intent") == intent]
    new_blocks = [b for b in new.get("nlu") or [] if b.get("intent") == intent]
    if len(new_blocks) != 1 or len(old_blocks) > 1:
        raise DataEditError(f"the file holds {len(new_blocks)} blocks of intent {intent}")
    old_examples = _example_lines(old_blocks[0]["examples"]) if old_blocks else []
    others = [b for b in new.get("nlu") or [] if b.get("intent") != intent]
    if _example_lines(new_blocks[0]["examples"]) != old_examples + list(wordings) or \
            others != [b for b in old.get("nlu") or [] if b.get("intent") != intent] or \
            {k: v for k, v in new.items() if k != "nlu"} != {k: v for k, v in old.items() if k != "nlu"}:
        raise DataEditError(f"the edit of {intent} would change more than its examples")

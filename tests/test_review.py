"""`make review` (tools/review.py): editing the training data, the decisions it keeps and the backlog.

The pieces are tested directly (fast); the whole review runs in a pseudo-terminal (pexpect) on a copy of
data/ over the known conversations of tests/tracker_fixture.py, and is marked live: it runs `rasa data
validate` (Rasa processes, ~15 s each) three times.
"""
from __future__ import annotations

import difflib
import os
import shutil
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.settings import ROOT
from tests.tracker_fixture import DIRECTOR, DIRECTOR_HELD_OUT, FIRST_DAY, GENEVA, LAST_DAY, PERSONAL, build_tracker_db
from tools import validated_write
from tools.assignment import HELD_OUT, plan
from tools.conversations import Outcome, Turn
from tools.meaning_groups import Group, wordings_of
from tools.privacy import mask
from tools.review_records import BACKLOG_HEADER, NEEDS_CONTENT, Decisions, add_to_backlog
from tools.training_data import DataEditError, add_examples, examples, never_train_on, target_file, wording_key
from tools.validated_write import ValidationFailed, write_validated

OUT_OF_SCOPE_EN = ROOT / "data" / "nlu" / "en" / "out_of_scope.yml"
BRUSSELS = ZoneInfo("Europe/Brussels")


def turn(text: str, language: str = "en", at: str = "2026-11-02 10:00", ranking=(("ask_website", 0.4),)) -> Turn:
    return Turn(conversation=1, channel="rest", position=1, at=datetime.fromisoformat(at).replace(tzinfo=BRUSSELS),
                text=mask(text), payload=False, language=language, ranking=tuple(ranking), fallback_reason=None,
                outcome=Outcome.FALLBACK, intent="nlu_fallback", entry=None, replies=(), latency_ms=100.0)


def inserted_lines(before: str, after: str) -> list:
    """The lines `after` adds to `before`; fails if it changes or removes any."""
    diff = [d for d in difflib.ndiff(before.splitlines(), after.splitlines()) if d[:2] in ("- ", "+ ")]
    assert all(d.startswith("+ ") for d in diff), diff
    return [d[2:] for d in diff]


# ---------------------------------------------------------------------------------------------- editing

def test_wordings_go_at_the_end_of_the_intent_block_and_nothing_else_changes():
    before = OUT_OF_SCOPE_EN.read_text(encoding="utf-8")  # ask_unavailable sits between two other intents
    after = add_examples(before, "ask_unavailable", ["who runs the office", "directeur ?"])
    assert inserted_lines(before, after) == ["    - who runs the office", "    - directeur ?"]
    lines = after.splitlines()
    assert lines[lines.index("    - directeur ?") + 1] == "- intent: ask_personal_case"
    assert after.startswith(before.split("nlu:")[0])  # the header comments stay
    block = [b for b in yaml.safe_load(after)["nlu"] if b["intent"] == "ask_unavailable"][0]
    assert block["examples"].splitlines()[-2:] == ["- who runs the office", "- directeur ?"]


def test_a_language_without_the_intent_gets_a_new_block_with_its_metadata():
    before = ('version: "3.1"\n# Dutch examples.\nnlu:\n- intent: greet\n  metadata: {language: nl}\n'
              "  examples: |\n    - hallo\n    # a comment inside\n")
    after = add_examples(before, "ask_history", ["wanneer is het kantoor geopend"], "nl")
    assert after == before + ("- intent: ask_history\n  metadata: {language: nl}\n  examples: |\n"
                              "    - wanneer is het kantoor geopend\n")
    assert add_examples(before, "greet", ["goedendag"], "nl").endswith("    - hallo\n    - goedendag\n"
                                                                       "    # a comment inside\n")


def test_an_edit_that_would_change_more_than_the_examples_is_refused():
    before = OUT_OF_SCOPE_EN.read_text(encoding="utf-8")
    with pytest.raises(DataEditError):
        add_examples(before, "ask_unavailable", ["two\n- intent: greet"])
    with pytest.raises(DataEditError, match="no `examples: |` list"):
        add_examples("nlu:\n- intent: greet\n  examples: |\n", "greet", ["hello"])


def test_each_language_has_its_file(tmp_path):
    data = ROOT / "data"
    assert target_file(data, "ask_unavailable", "en") == OUT_OF_SCOPE_EN
    assert target_file(data, "ask_unavailable", "fr") == data / "nlu" / "fr" / "out_of_scope.yml"
    assert target_file(data, "ask_history", "de") == data / "nlu" / "other" / "de.yml"
    with pytest.raises(DataEditError):
        target_file(data, "ask_history", "../../x")
    with pytest.raises(DataEditError, match="holds the intent"):
        target_file(data, "no_such_intent", "en")


def test_held_out_questions_and_training_examples_are_never_added(tmp_path):
    training = {wording_key(e.text): e.intent for e in examples()}
    wordings = wordings_of([turn(DIRECTOR[0]), turn(DIRECTOR_HELD_OUT, "fr"), turn("who is the director of the "
                            "office?"), turn("x " * 200), turn(PERSONAL), turn("hallo, wer leitet das Büro?", "de")])
    assignment = plan(wordings, "ask_unavailable", ROOT / "data", training, never_train_on())
    added = {a.text: a.path.relative_to(ROOT / "data").as_posix() for a in assignment.additions}
    assert added == {DIRECTOR[0]: "nlu/en/out_of_scope.yml",
                     # masked, and no brackets Rasa would read as an entity annotation
                     "My email is (email) and my phone is (phone), can you check my visa case?":
                         "nlu/en/out_of_scope.yml",
                     "hallo, wer leitet das Büro?": "nlu/other/de.yml"}
    skipped = {s.wording.text: s.why for s in assignment.skipped}
    assert skipped[DIRECTOR_HELD_OUT] == HELD_OUT
    assert skipped["who is the director of the office?"] == "already a training example of ask_unavailable"
    assert skipped["x " * 200] == "longer than 300 characters"
    changes = assignment.changes()
    assert set(changes) == {OUT_OF_SCOPE_EN, ROOT / "data" / "nlu" / "other" / "de.yml"}
    old, new = changes[OUT_OF_SCOPE_EN]
    assert old == OUT_OF_SCOPE_EN.read_text(encoding="utf-8")
    assert len(inserted_lines(old, new)) == 2


def test_nothing_is_written_unless_rasa_validates_it(tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    target = data / "nlu" / "en" / "out_of_scope.yml"
    old = target.read_text(encoding="utf-8")
    new = add_examples(old, "ask_unavailable", ["who runs the office"])
    seen = []
    monkeypatch.setattr(validated_write, "validate", lambda copy: (seen.append(copy) or False,
                                                                   "2026 ERROR rasa.validator - broken"))
    with pytest.raises(ValidationFailed, match="broken"):
        write_validated({target: (old, new)}, data)
    assert target.read_text(encoding="utf-8") == old
    assert seen[0] != data and not seen[0].exists()  # validated on a copy, since removed
    monkeypatch.setattr(validated_write, "validate", lambda copy: (True, ""))
    target.write_text(old + "\n", encoding="utf-8")  # an editor saved the file meanwhile
    with pytest.raises(ValidationFailed, match="changed while the review ran"):
        write_validated({target: (old, new)}, data)
    target.write_text(old, encoding="utf-8")
    write_validated({target: (old, new)}, data)
    assert target.read_text(encoding="utf-8") == new


def test_decisions_are_remembered_per_wording_and_the_backlog_grows(tmp_path):
    group = Group(1, tuple(wordings_of([turn(GENEVA[0]), turn(GENEVA[1], at="2026-11-03 15:01"),
                                        turn(GENEVA[2], "fr")])))
    decisions = Decisions(tmp_path / "review" / "decisions.json")
    decisions.record(group.wordings, NEEDS_CONTENT)
    again = Decisions(tmp_path / "review" / "decisions.json")
    assert all(again.decided(wording_key(t)) for t in GENEVA) and not again.decided("something else")
    backlog = tmp_path / "backlog.md"
    add_to_backlog(backlog, group, date(2026, 11, 28))
    add_to_backlog(backlog, group, date(2026, 11, 29))
    text = backlog.read_text(encoding="utf-8")
    assert text.startswith(BACKLOG_HEADER) and text.count("## 2026-11-2") == 2
    assert "## 2026-11-28: asked 3 times (3 wordings), 2026-11-02 to 2026-11-03" in text
    assert "- Est-ce que l'OIM a un bureau à Genève ? (1, fr)" in text


# ---------------------------------------------------------------------------------------------- the tool

class Review:
    """tools.review in a pseudo-terminal."""

    def __init__(self, tmp: Path, db: Path) -> None:
        import pexpect
        self.log = open(tmp / "review.log", "a", encoding="utf-8")
        env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "REPORT_TIMEZONE": "Europe/Brussels",
               "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore", "RASA_TELEMETRY_ENABLED": "false"}
        self.child = pexpect.spawn(sys.executable, [
            "-m", "tools.review", "--db", f"sqlite:///{db}", "--from", FIRST_DAY, "--to", LAST_DAY,
            "--data-dir", str(tmp / "data"), "--decisions", str(tmp / "decisions.json"),
            "--backlog", str(tmp / "backlog.md")], cwd=str(ROOT), env=env, encoding="utf-8", dimensions=(60, 200),
            timeout=120)
        self.child.logfile_read = self.log

    def expect(self, text: str) -> str:
        self.child.expect_exact(text)
        return self.child.before

    def group(self, number: int, total: int) -> str:
        """Waits for group `number`'s description and its question: what it showed."""
        self.expect(f"Group {number} of {total}: ")
        return self.expect("What should happen to this group?")

    def choose(self, key: str) -> None:
        """Presses a shortcut (or nothing) then Enter, once the prompt is drawn."""
        import time
        time.sleep(0.3)
        if key:
            self.child.send(key)
            time.sleep(0.2)
        self.child.send("\r")

    def finish(self) -> str:
        import pexpect
        self.child.expect(pexpect.EOF)
        self.child.close()
        assert self.child.exitstatus == 0
        return self.child.before


@pytest.mark.live
def test_a_review_session_in_a_terminal(tmp_path):
    shutil.copytree(ROOT / "data", tmp_path / "data")
    db = build_tracker_db(tmp_path / "tracker.db")
    before = {p: p.read_text(encoding="utf-8") for p in (tmp_path / "data").rglob("*.yml")}

    review = Review(tmp_path, db)
    shown = review.group(1, 7)
    assert shown.startswith("asked 4 times (4 wordings)") and "ask_unavailable 0.65" in shown
    review.choose("a")  # assign, to the closest intent (listed first), with every wording checked
    review.expect("Assign to which intent?")
    review.choose("")
    review.expect("Wordings to add")
    review.choose("")
    shown = review.group(2, 7)
    assert all(g in shown for g in GENEVA)
    review.choose("n")
    assert "My email is [email] and my phone is [phone]" in review.group(3, 7)
    review.choose("i")
    review.group(4, 7)
    review.choose("q")
    output = review.finish()
    assert f"Not added: {DIRECTOR_HELD_OUT!r} ({HELD_OUT})" in output
    assert "Run `make train` to retrain" in output

    after = {p: p.read_text(encoding="utf-8") for p in (tmp_path / "data").rglob("*.yml")}
    changed = {p.relative_to(tmp_path / "data").as_posix() for p in after if after[p] != before[p]}
    assert changed == {"nlu/en/out_of_scope.yml", "nlu/fr/out_of_scope.yml"} and set(after) == set(before)
    en, fr = (tmp_path / "data" / "nlu" / lang / "out_of_scope.yml" for lang in ("en", "fr"))
    assert inserted_lines(before[en], after[en]) == ["    - who heads the office in Brussels",
                                                     "    - Who is the director of the Brussels office?"]
    assert inserted_lines(before[fr], after[fr]) == ["    - Qui est à la tête du bureau bruxellois ?"]
    en_block, fr_block = ([b for b in yaml.safe_load(after[p])["nlu"] if b["intent"] == "ask_unavailable"][0]
                          for p in (en, fr))
    assert en_block["examples"].splitlines()[-2:] == [f"- {DIRECTOR[1]}", f"- {DIRECTOR[0]}"]
    assert fr_block["examples"].splitlines()[-1] == f"- {DIRECTOR[2]}"
    assert fr_block["metadata"] == {"language": "fr"}
    assert validated_write.validate(tmp_path / "data")[0]

    backlog = (tmp_path / "backlog.md").read_text(encoding="utf-8")
    assert all(f"- {g} (1, " in backlog for g in GENEVA) and "director" not in backlog

    again = Review(tmp_path, db)  # decided groups do not come back
    assert "4 groups of unanswered questions" in again.expect("Group 1 of 4: ")
    shown = again.expect("What should happen to this group?")
    assert "What's the weather like in Brussels today?" in shown
    again.choose("q")
    assert "No training data changed." in again.finish()

"""Training data hygiene: enough varied examples, dev set kept out, every intent answered."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bot.answers.content_store import load_content
from bot.answers.dialogue import CONTACT_INTENT, MESSAGE_INTENTS, MORE_INTENT, SWITCH_INTENT
from bot.answers.feedback import FEEDBACK_INTENT
from tools.evaluate import load_cases
from tools.training_data import case_files, case_questions, holdout_examples, wording_key
from tools.training_data import examples as training_examples

ROOT = Path(__file__).resolve().parents[1]


def examples(language=None):
    """(intent, text) of every training example, or of those in `language` (its intent's metadata; en by
    default)."""
    return [(e.intent, e.text) for e in training_examples() if language in (None, e.language)]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_at_least_20_examples_per_intent_in_english_and_in_french(language):
    counts = Counter(intent for intent, _ in examples(language))
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    assert set(counts) == set(domain["intents"]) and min(counts.values()) >= 20, counts


def test_dev_and_held_out_questions_are_not_in_training_data():
    training = {wording_key(text) for _, text in examples()}
    assert len(load_cases(case_files())) > 500  # the shared development sets are there too
    questions = case_questions()
    leaked = [t for t in questions if len(wording_key(t)) > 6 and wording_key(t) in training]
    leaked += [t for t in holdout_examples() if wording_key(t) in training]
    assert not leaked


def test_every_domain_intent_has_a_rule_and_an_answer():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    rules = yaml.safe_load((ROOT / "data" / "rules.yml").read_text(encoding="utf-8"))["rules"]
    ruled = {step["intent"] for rule in rules for step in rule["steps"] if "intent" in step}
    content = load_content()
    answered = {e.intent for e in content.entries.values()} | set(MESSAGE_INTENTS) | {MORE_INTENT, CONTACT_INTENT,
                                                                                       FEEDBACK_INTENT, SWITCH_INTENT}
    for intent in domain["intents"]:
        assert intent in ruled, intent
        assert intent in answered, intent
    assert {intent for intent, _ in examples()} == set(domain["intents"])


def test_subject_lookup_is_in_sync_with_synonyms():
    from tools.sync_lookup import LOOKUP, render
    assert LOOKUP.read_text(encoding="utf-8") == render(), "run: python -m tools.sync_lookup"


@pytest.mark.parametrize("text,found", [("what is protection space?", "protection space"),
                                        ("integrated border management", "integrated border management")])
def test_the_subject_lookup_finds_the_longest_form(text, found):
    """Rasa joins the lookup into one alternation where the first form matching at a position wins: "protection"
    listed before "protection space" hid the latter (it answered the protection result instead)."""
    from rasa.nlu.utils.pattern_utils import _generate_lookup_regex

    from tools.sync_lookup import LOOKUP
    [table] = [block for block in yaml.safe_load(LOOKUP.read_text(encoding="utf-8"))["nlu"] if "lookup" in block]
    forms = [line.strip()[2:] for line in table["examples"].splitlines() if line.strip()]
    assert re.search(_generate_lookup_regex({"elements": forms}), text, re.I).group(0) == found


def test_every_subject_in_the_training_data_is_a_content_subject():
    """A synonym or annotation mapping to a value no entry has is never answered (it was: "diaspora")."""
    subjects = {e.subject for e in load_content().entries.values() if e.subject}
    used = set()
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        text = path.read_text(encoding="utf-8")
        used |= {(v, path.name) for v in re.findall(r"\]\(subject:([^)]+)\)", text)}
        used |= {(b["synonym"], path.name) for b in yaml.safe_load(text)["nlu"] if "synonym" in b}
    assert sorted(u for u in used if u[0] not in subjects) == []


def test_annotations_use_the_short_form():
    """`[text](entity:value)`, not `[text]{"entity": ..., "value": ...}`: Rasa checks each braced annotation
    against a JSON schema (5 ms each), and reads the data more than once per training: 768 of them cost about
    10 s of every training. Both forms give the same examples (checked with Rasa's loader when converted)."""
    braced = [(path.relative_to(ROOT).as_posix(), n) for path in sorted((ROOT / "data").rglob("*.yml"))
              for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if re.search(r"\]\{", line)]
    assert braced == []


def test_every_example_block_declares_the_language_of_its_directory():
    """The language classifier learns from each block's `metadata.language` (English when absent): a French
    block without it taught it that "Quels sont vos objectifs ?" is English, and the answer came in English."""
    wrong = []
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        expected = {"en": "en", "fr": "fr", "other": path.stem}.get(path.parent.name)
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            declared = (block.get("metadata") or {}).get("language", "en")
            if "intent" in block and declared != expected:
                wrong.append((path.relative_to(ROOT).as_posix(), block["intent"], declared))
    assert wrong == []

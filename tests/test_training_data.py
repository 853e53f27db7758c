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

ROOT = Path(__file__).resolve().parents[1]


def examples(language=None):
    """(intent, text) of every training example, or of those in `language` (its intent's metadata; en by
    default)."""
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if "intent" in block and language in (None, (block.get("metadata") or {}).get("language", "en")):
                for line in block["examples"].splitlines():
                    if line.strip().startswith("- "):
                        yield block["intent"], line.strip()[2:]


def turns(case):
    return [t["say"] if isinstance(t, dict) else t for t in case["turns"]]


def plain(text: str) -> str:
    text = re.sub(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})", r"\1", text)  # drop entity annotations
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


@pytest.mark.parametrize("language", ["en", "fr"])
def test_at_least_20_examples_per_intent_in_english_and_in_french(language):
    counts = Counter(intent for intent, _ in examples(language))
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    assert set(counts) == set(domain["intents"]) and min(counts.values()) >= 20, counts


def test_dev_and_held_out_questions_are_not_in_training_data():
    training = {plain(text) for _, text in examples()}
    case_files = [*sorted((ROOT / "tests").glob("dev_cases*.yml")), *sorted((ROOT / "tests" / "heldout").glob("*.yml")),
                  *sorted((ROOT.parent / "shared" / "eval").glob("*.yml"))]
    cases = [case for f in case_files for case in yaml.safe_load(f.read_text(encoding="utf-8"))["cases"]]
    assert len(cases) > 500
    leaked = [t for case in cases for t in turns(case) if len(plain(t)) > 6 and plain(t) in training]
    holdout = yaml.safe_load((ROOT / "tests" / "nlu_holdout.yml").read_text(encoding="utf-8"))["nlu"]
    leaked += [t for b in holdout for t in (line.strip()[2:] for line in b["examples"].splitlines() if line.strip())
               if plain(t) in training]
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


def test_every_subject_in_the_training_data_is_a_content_subject():
    """A synonym or annotation mapping to a value no entry has is never answered (it was: "diaspora")."""
    subjects = {e.subject for e in load_content().entries.values() if e.subject}
    used = set()
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        text = path.read_text(encoding="utf-8")
        used |= {(v, path.name) for v in re.findall(r'"entity": "subject", "value": "([^"]+)"', text)}
        used |= {(b["synonym"], path.name) for b in yaml.safe_load(text)["nlu"] if "synonym" in b}
    assert sorted(u for u in used if u[0] not in subjects) == []

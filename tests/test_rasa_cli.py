"""Rasa's own checks: data validation without warnings, test stories, and held-out NLU accuracy."""
from __future__ import annotations

import json
import subprocess

import pytest

from bot import servers
from bot.settings import ROOT
from tests.support import MODEL, config_thresholds

pytestmark = pytest.mark.live  # each test runs a Rasa CLI process (20-25 s)
MIN_RAW_MACRO_F1 = 0.80
MIN_IN_SCOPE = 0.85
MIN_REJECTED = 0.85


def rasa(*args, timeout=600):
    env = servers.environment()
    return subprocess.run([str(servers.VENV_BIN / "rasa"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_data_validates_without_warnings():
    result = rasa("data", "validate", "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_test_stories_pass(tmp_path):
    result = rasa("test", "core", "--model", str(MODEL), "--stories", "tests/test_stories.yml",
                  "--out", str(tmp_path), "--fail-on-prediction-errors")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_held_out_nlu(tmp_path):
    """Raw intent F1 as `rasa test nlu` reports it, and accuracy as users see it: a prediction under the
    FallbackClassifier threshold falls back, which is right for out-of-scope text and wrong otherwise."""
    result = rasa("test", "nlu", "--model", str(MODEL), "--nlu", "tests/nlu_holdout.yml", "--out", str(tmp_path),
                  "--successes")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "intent_report.json").read_text())
    predictions = [*json.loads((tmp_path / "intent_successes.json").read_text()),
                   *json.loads((tmp_path / "intent_errors.json").read_text())]
    threshold, _ = config_thresholds()

    def served(p):
        confident = p["intent_prediction"]["confidence"] >= threshold
        return p["intent_prediction"]["name"] if confident else "nlu_fallback"

    in_scope = [served(p) == p["intent"] for p in predictions if p["intent"] != "out_of_scope"]
    rejected = [served(p) in ("out_of_scope", "nlu_fallback") for p in predictions if p["intent"] == "out_of_scope"]
    print(f"\nheld-out ({len(predictions)} examples): raw intent accuracy {report['accuracy']:.3f}, "
          f"macro F1 {report['macro avg']['f1-score']:.3f}, weighted F1 {report['weighted avg']['f1-score']:.3f}; "
          f"with fallback: in-scope answered right {sum(in_scope) / len(in_scope):.3f}, "
          f"out-of-scope rejected {sum(rejected) / len(rejected):.3f}")
    assert report["macro avg"]["f1-score"] >= MIN_RAW_MACRO_F1
    assert sum(in_scope) / len(in_scope) >= MIN_IN_SCOPE
    assert sum(rejected) / len(rejected) >= MIN_REJECTED

"""Rasa's own checks: data validation without warnings, test stories, and held-out NLU accuracy."""
from __future__ import annotations

import json
import subprocess

from tests.conftest import MODEL, ROOT
from bot.tools import servers

MIN_HOLDOUT_F1 = 0.85


def rasa(*args, timeout=600):
    env = servers.settings()
    return subprocess.run([str(servers.VENV_BIN / "rasa"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_data_validates_without_warnings():
    result = rasa("data", "validate", "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_test_stories_pass(tmp_path):
    result = rasa("test", "core", "--model", str(MODEL), "--stories", "tests/test_stories.yml",
                  "--out", str(tmp_path), "--fail-on-prediction-errors")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_held_out_nlu_intent_f1(tmp_path):
    result = rasa("test", "nlu", "--model", str(MODEL), "--nlu", "tests/nlu_holdout.yml", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "intent_report.json").read_text())
    print(f"\nheld-out intent accuracy {report['accuracy']:.3f}, "
          f"macro F1 {report['macro avg']['f1-score']:.3f}, weighted F1 {report['weighted avg']['f1-score']:.3f}")
    assert report["weighted avg"]["f1-score"] >= MIN_HOLDOUT_F1

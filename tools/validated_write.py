"""Changes to the training data are written only once Rasa has validated them.

`write_validated(changes, data_dir)` copies `data_dir` to a temporary directory, applies the new file texts
there, runs `rasa data validate --fail-on-warnings` (as `make validate` does: an example under two intents is
a warning that fails it) on the copy with the project's domain.yml and config.yml, and only if it passes
replaces each real file in one step (tools/files.py). A real file that changed since it was read (an editor
saving it meanwhile) stops the write instead of being overwritten.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Mapping, Tuple

from bot.settings import ROOT, process_environment
from tools.files import write_atomically

VALIDATE_TIMEOUT_S = 300
SHOWN_LINES = 15  # of the validator's output, when it refuses


class ValidationFailed(RuntimeError):
    """Rasa refused the changed data (the message holds its complaints), or the files changed meanwhile."""


def validate_command(data: Path) -> list:
    return [sys.executable, "-m", "rasa", "data", "validate", "--fail-on-warnings", "--data", str(data),
            "--domain", str(ROOT / "domain.yml"), "--config", str(ROOT / "config.yml")]


def validate(data: Path) -> Tuple[bool, str]:
    """Runs Rasa's validation on a data directory: (passed, its output)."""
    env = {**process_environment(), "RASA_TELEMETRY_ENABLED": "false", "PYTHONWARNINGS": "ignore",
           "TF_CPP_MIN_LOG_LEVEL": "2", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    done = subprocess.run(validate_command(data), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=VALIDATE_TIMEOUT_S)
    return done.returncode == 0, done.stdout + done.stderr


def _complaints(output: str) -> str:
    lines = [line for line in output.splitlines() if " WARNING " in line or " ERROR " in line or "Error" in line]
    return "\n".join((lines or output.splitlines())[-SHOWN_LINES:])


def write_validated(changes: Mapping[Path, Tuple[str, str]], data_dir: Path) -> None:
    """`changes`: file under `data_dir` -> (its text when read, its new text). All or nothing."""
    with tempfile.TemporaryDirectory(prefix="iom-review-") as scratch:
        copy = Path(scratch) / "data"
        shutil.copytree(data_dir, copy)
        for path, (_, new_text) in changes.items():
            target = copy / path.relative_to(data_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(new_text, encoding="utf-8")
        passed, output = validate(copy)
    if not passed:
        raise ValidationFailed(f"rasa data validate refused the change, nothing was written:\n{_complaints(output)}")
    changed = [str(p) for p, (old, _) in changes.items() if _current(p) != old]
    if changed:
        raise ValidationFailed(f"{', '.join(changed)} changed while the review ran; nothing was written")
    for path, (_, new_text) in changes.items():
        write_atomically(path, new_text)


def _current(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


"""Starting and watching the two servers; shared by `make run`/`make shell` (bot/run.py), tools/ and the tests.

Processes get their settings as environment variables: `environment()` renders every setting of
bot/settings.py (defaults included) over the current environment, so Rasa's `${VAR}`s in endpoints*.yml and
our code in the child read the same values. Secrets travel only this way (or in files of mode 600), never
on a command line, where `ps` would show them.
"""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

from bot.settings import ROOT, Settings, process_environment

VENV_BIN = Path(sys.executable).parent
SECRET_KEY_FILE = ROOT / "var" / "secret_key"
RASA_START_TIMEOUT_S = 300
ACTIONS_START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 10
# For the processes we start: no telemetry, quiet TensorFlow and warnings, our code importable.
QUIET = {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore",
         "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}


def environment(overrides: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment for our servers: this process's environment and `overrides`, with every setting."""
    env = {**process_environment(), **(overrides or {})}
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = local_secret_key()
    config = Settings.from_env(env)
    env.update(config.as_environ())
    for key, value in QUIET.items():
        env.setdefault(key, value)
    env["PYTHONPATH"] = ":".join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    config.tracker_db.parent.mkdir(parents=True, exist_ok=True)
    return env


def write_private(path: Path, text: str) -> None:
    """Writes `text` to a new file only the owner can read (created with mode 600, never readable before)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def local_secret_key() -> str:
    """This machine's SECRET_KEY when none is configured: generated once into var/secret_key (mode 600)."""
    if not SECRET_KEY_FILE.exists():
        write_private(SECRET_KEY_FILE, secrets.token_hex(32))
    return SECRET_KEY_FILE.read_text(encoding="utf-8").strip()


def action_server_command(env: Dict[str, str]) -> List[str]:
    return [str(VENV_BIN / "python"), "-m", "rasa_sdk", "--actions", "actions", "--port", env["ACTION_PORT"]]


def rasa_command(env: Dict[str, str], shell: bool = False) -> List[str]:
    """Rasa through bot.server, which installs bot/rasa_patches.py first."""
    common = ["--model", env["MODEL"], "--endpoints", env["ENDPOINTS"], "--port", env["RASA_PORT"]]
    rasa = [str(VENV_BIN / "python"), "-m", "bot.server"]
    if shell:
        return [*rasa, "shell", *common]
    # The HTTP API's secret, if any, is added by bot.server inside the process: never on a command line.
    return [*rasa, "run", *common, "--interface", env["BIND"], "--credentials", "credentials.yml"]


def start(command: List[str], env: Dict[str, str], **kwargs) -> subprocess.Popen:
    # SANIC_HOST is how rasa_sdk's server picks its bind address.
    return subprocess.Popen(command, cwd=ROOT, env={**env, "SANIC_HOST": env["BIND"]}, **kwargs)


def wait_http(url: str, timeout: float, process: Optional[subprocess.Popen] = None) -> None:
    """Wait until `url` answers 200; fail early if `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with code {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def action_health_url(env: Dict[str, str]) -> str:
    return f"http://{env['ACTION_HOST']}:{env['ACTION_PORT']}/health"


def rasa_health_url(env: Dict[str, str]) -> str:
    return f"http://127.0.0.1:{env['RASA_PORT']}/webhooks/rest/"


def start_web(env: Dict[str, str]):
    from bot import web
    config = Settings.from_env(env)
    return web.serve(config.bind, config.web_port, f"http://{config.public_host}:{config.rasa_port}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(process: Optional[subprocess.Popen], timeout: float = STOP_TIMEOUT_S) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

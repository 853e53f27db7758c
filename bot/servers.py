"""Starting and watching the two servers; shared by `make run`/`make shell` (bot/run.py), tools/ and the tests.

Processes get their settings as environment variables: `environment()` renders every setting of
bot/settings.py (defaults included) over the current environment, so Rasa's `${VAR}`s in endpoints*.yml and
our code in the child read the same values.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

from bot.settings import ROOT, Settings, process_environment

VENV_BIN = Path(sys.executable).parent
RASA_START_TIMEOUT_S = 300
ACTIONS_START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 10
# For the processes we start: no telemetry, quiet TensorFlow and warnings, our code importable.
QUIET = {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore",
         "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}


def environment(overrides: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment for our servers: this process's environment and `overrides`, with every setting."""
    env = {**process_environment(), **(overrides or {})}
    config = Settings.from_env(env)
    env.update(config.as_environ())
    for key, value in QUIET.items():
        env.setdefault(key, value)
    env["PYTHONPATH"] = ":".join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    config.tracker_db.parent.mkdir(parents=True, exist_ok=True)
    return env


def action_server_command(env: Dict[str, str]) -> List[str]:
    return [str(VENV_BIN / "python"), "-m", "rasa_sdk", "--actions", "actions", "--port", env["ACTION_PORT"]]


def rasa_command(env: Dict[str, str], shell: bool = False) -> List[str]:
    """Rasa through bot.server, which installs bot/rasa_patches.py first."""
    common = ["--model", env["MODEL"], "--endpoints", env["ENDPOINTS"], "--port", env["RASA_PORT"]]
    rasa = [str(VENV_BIN / "python"), "-m", "bot.server"]
    if shell:
        return [*rasa, "shell", *common]
    return [*rasa, "run", *common, "--interface", env["BIND"], "--credentials", "credentials.yml", *api_options(env)]


def api_options(env: Dict[str, str]) -> List[str]:
    """Rasa's HTTP API stays off unless an operator sets a secret for it. JWT (RASA_JWT_SECRET, sent as an
    `Authorization: Bearer` header) is preferred; RASA_API_TOKEN works too but travels in the query string."""
    if env.get("RASA_JWT_SECRET"):
        return ["--enable-api", "--jwt-secret", env["RASA_JWT_SECRET"], "--jwt-method", "HS256"]
    if env.get("RASA_API_TOKEN"):
        return ["--enable-api", "--auth-token", env["RASA_API_TOKEN"]]
    return []


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

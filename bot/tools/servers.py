"""Starting and watching the two servers; shared by `make run`/`make shell` (run.py) and the tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def settings(overrides: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Ports, bind address and paths: environment variables with their documented defaults."""
    env = dict(os.environ)
    env.update(overrides or {})
    env.setdefault("RASA_PORT", "5005")
    env.setdefault("ACTION_PORT", "5055")
    env.setdefault("WEB_PORT", "8080")
    env.setdefault("BIND", "127.0.0.1")
    # Where Rasa reaches the action server: loopback unless it is bound to one specific address.
    env.setdefault("ACTION_HOST", "127.0.0.1" if env["BIND"] in ("127.0.0.1", "0.0.0.0", "::") else env["BIND"])
    env.setdefault("TRACKER_DB", str(ROOT / "var" / "tracker.db"))
    env.setdefault("MODEL", str(ROOT / "models" / "iom.tar.gz"))
    env.setdefault("ENDPOINTS", "endpoints.yml")  # endpoints.scale.yml for the scale profile (bot/tools/scale.py)
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONWARNINGS", "ignore")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    Path(env["TRACKER_DB"]).parent.mkdir(parents=True, exist_ok=True)
    return env


def action_server_command(env: Dict[str, str]) -> List[str]:
    return [str(VENV_BIN / "python"), "-m", "rasa_sdk", "--actions", "actions", "--port", env["ACTION_PORT"]]


def rasa_command(env: Dict[str, str], shell: bool = False) -> List[str]:
    common = ["--model", env["MODEL"], "--endpoints", env["ENDPOINTS"], "--port", env["RASA_PORT"]]
    if shell:
        return [str(VENV_BIN / "rasa"), "shell", *common]
    return [str(VENV_BIN / "rasa"), "run", *common, "--interface", env["BIND"], "--credentials", "credentials.yml",
            *api_options(env)]


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


def socket_url(env: Dict[str, str]) -> str:
    """The Rasa server as the widget's browser reaches it."""
    host = "127.0.0.1" if env["BIND"] in ("0.0.0.0", "::") else env["BIND"]
    return f"http://{host}:{env['RASA_PORT']}"


def start_web(env: Dict[str, str]):
    from bot import web
    return web.serve(env["BIND"], int(env["WEB_PORT"]), socket_url(env))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(process: Optional[subprocess.Popen], timeout: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

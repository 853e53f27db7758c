"""Fixtures. `bot` starts the real action server and Rasa server once per test session.

Tests that start servers or Rasa processes are marked `live` (automatically when they use a fixture that
starts one); `make test-fast` runs the others. Plain helpers live in tests/support.py.
"""
from __future__ import annotations

from typing import Dict

import pytest
import requests

from bot import servers
from tests.support import (
    MODEL,
    NO_RATE_LIMITS,
    SLACK_SIGNING_SECRET,
    SLACK_TOKEN,
    RunningBot,
    SlackWebAPI,
    start_servers,
)

# Fixtures that start servers: a test using one (directly or through another fixture) is `live`.
LIVE_FIXTURES = {"bot", "bot_env", "own_bot", "scale", "limited"}


def pytest_configure(config):
    config.addinivalue_line("markers", "live: starts real servers or Rasa processes (not in `make test-fast`)")


def pytest_collection_modifyitems(items):
    for item in items:
        if LIVE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.live)


@pytest.fixture(scope="session")
def slack_api() -> SlackWebAPI:
    api = SlackWebAPI()
    yield api
    api.server.shutdown()


@pytest.fixture(scope="session")
def bot_env(tmp_path_factory, slack_api) -> Dict[str, str]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run the tests through `make test`, which trains it")
    return servers.environment({**NO_RATE_LIMITS,
        "RASA_PORT": str(servers.free_port()), "ACTION_PORT": str(servers.free_port()), "BIND": "127.0.0.1",
        "WEB_PORT": str(servers.free_port()), "SLACK_TOKEN": SLACK_TOKEN,
        "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET, "SLACK_API_URL": slack_api.url,
        "TRACKER_DB": str(tmp_path_factory.mktemp("tracker") / "tracker.db"), "MODEL": str(MODEL),
    })


@pytest.fixture(scope="session")
def bot(bot_env) -> RunningBot:
    rasa, actions = start_servers(bot_env, "servers")
    page = servers.start_web(bot_env)
    with requests.Session() as session:
        running = RunningBot(bot_env, rasa, actions, session)
        yield running
    page.shutdown()
    servers.stop(running.rasa)
    servers.stop(running.actions)

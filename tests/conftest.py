"""Fixtures. `bot` starts the real action server and Rasa server once per test session.

Tests that start servers or Rasa processes are marked `live` (automatically when they use a fixture that
starts one); `make test-fast` runs the others. Plain helpers live in tests/support.py.
"""
from __future__ import annotations

import shutil
import uuid
from typing import Dict

import pytest
import requests

from bot import servers
from bot.settings import ROOT
from tests.support import (
    LOG_DIR,
    MODEL,
    NO_RATE_LIMITS,
    SCALE_ACTIONS,
    SCALE_REPLICAS,
    SLACK_SIGNING_SECRET,
    SLACK_TOKEN,
    ChannelApp,
    FakeRasa,
    RunningBot,
    SlackWebAPI,
    start_servers,
)

# Fixtures that start servers: a test using one (directly or through another fixture) is `live`.
LIVE_FIXTURES = {"bot", "bot_env", "own_bot", "scale", "limited", "scale_postgres"}


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


@pytest.fixture
def slack(slack_api):
    """(app, rasa): the Slack channel in-process, posting to the Web API stand-in."""
    from bot.channels.slack import HardenedSlackInput
    from bot.settings import Settings
    rasa = FakeRasa()
    config = Settings(slack_token=SLACK_TOKEN, slack_signing_secret=SLACK_SIGNING_SECRET, slack_api_url=slack_api.url)
    app = ChannelApp([HardenedSlackInput.from_settings(config=config)], rasa)
    yield app, rasa
    app.close()


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


@pytest.fixture(scope="session")
def scale_postgres(slack_api):
    """The scale profile's topology (tools/scale.py) on free ports, data in a temporary directory under var/,
    with only its PostgreSQL started: one PostgreSQL per test session, shared by tests/test_scale.py (which
    starts the rest of the topology around it) and the retention tests."""
    from tools.scale import Topology, free_ports, scale_settings
    # Under var/ (not pytest's 0700 tmp dirs): PostgreSQL runs as `postgres` and must reach its data directory.
    base = ROOT / "var" / f"test-scale-{uuid.uuid4().hex[:6]}"
    ports = free_ports(SCALE_REPLICAS, SCALE_ACTIONS)
    slack = {"SLACK_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET, "SLACK_API_URL": slack_api.url}
    topology = Topology(scale_settings(base, {**ports, **slack, **NO_RATE_LIMITS, "MODEL": str(MODEL)}),
                        SCALE_REPLICAS, SCALE_ACTIONS, base)
    try:
        topology.start_postgres()
        yield topology
    finally:
        topology.down()
        if topology.logs.exists():
            shutil.copytree(topology.logs, LOG_DIR / "scale-logs", dirs_exist_ok=True)
        shutil.rmtree(base, ignore_errors=True)

"""bot/rasa_patches.py: installed on purpose, once, on the Rasa version it was written for; one test per patch."""
from __future__ import annotations

import asyncio
import inspect

import pytest
import rasa
import rasa.core.actions.action as rasa_action
import rasa.utils.endpoints as rasa_endpoints
from jsonschema import ValidationError
from rasa.shared.core import events as rasa_events
from rasa.shared.core.events import Event
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_patches
from bot.settings import Settings

TIMEOUT = 4.5
CONFIG = Settings(action_timeout=TIMEOUT, max_request_bytes=4096, proxies_count=1)


@pytest.fixture(scope="module", autouse=True)
def installed():
    rasa_patches.install(CONFIG)


def test_refuses_another_rasa_version(monkeypatch):
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(rasa_patches.UnsupportedRasaVersion, match="3.6.21"):
        rasa_patches.install(CONFIG)


def test_install_is_idempotent():
    patched = (rasa_action.RemoteAction._validate_action_result, Event.resolve_by_type,
               EndpointConfig.session, rasa_action.DEFAULT_REQUEST_TIMEOUT)
    rasa_patches.install(CONFIG.replace(action_timeout=99))
    assert rasa_patches.installed()
    assert (rasa_action.RemoteAction._validate_action_result, Event.resolve_by_type, EndpointConfig.session,
            rasa_action.DEFAULT_REQUEST_TIMEOUT) == patched


def test_action_server_timeout_is_capped():
    assert rasa_action.DEFAULT_REQUEST_TIMEOUT == TIMEOUT and rasa_endpoints.DEFAULT_REQUEST_TIMEOUT == TIMEOUT


def test_action_result_validation_accepts_valid_and_raises_on_invalid():
    action = rasa_action.RemoteAction("action_answer", None)
    assert action._validate_action_result({"events": [], "responses": [{"text": "hi"}]})
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": "not a list"})


def test_resolve_by_type_still_resolves_every_event_type():
    concrete = {cls.type_name: cls for cls in _subclasses(Event) if not inspect.isabstract(cls)
                and cls.__module__ == rasa_events.__name__}
    assert len(concrete) > 20
    for name, cls in concrete.items():
        assert Event.resolve_by_type(name) is cls
        assert Event.resolve_by_type(name) is cls  # the cached path
    assert Event.resolve_by_type("no_such_event", default=rasa_events.UserUttered) is rasa_events.UserUttered
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")


def test_endpoint_sessions_are_kept_per_endpoint_and_survive_async_with():
    async def sessions():
        endpoint = EndpointConfig("http://127.0.0.1:1/webhook")
        async with endpoint.session() as first:
            pass
        async with endpoint.session() as second:
            assert second is first and not first.closed
        other = EndpointConfig("http://127.0.0.1:2/webhook").session()
        assert other.session is not first
        assert first.timeout.total == TIMEOUT
        await first.close()
        await other.session.close()
    asyncio.run(sessions())


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_rasas_app_caps_request_bodies_and_trusts_the_configured_proxies():
    import rasa.core.run
    app = rasa.core.run.configure_app(input_channels=[], enable_api=False)
    assert app.config.REQUEST_MAX_SIZE == 4096 and app.config.WEBSOCKET_MAX_SIZE == 4096
    assert app.config.PROXIES_COUNT == 1

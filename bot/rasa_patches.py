"""Small, measured fixes to Rasa 3.6.21 internals, applied by `install()` when the Rasa process starts.

`python -m bot.server` (make run, the tests, the container) calls `install()` before Rasa loads anything;
it refuses any Rasa version other than the one these were written for, and a second call does nothing.

1. Rasa waits 300 s for the action server (`DEFAULT_REQUEST_TIMEOUT`, read at call time); a hung action
   server would hang the visitor for 5 minutes. We cap it at `ACTION_TIMEOUT` (default 6 s).
2. `RemoteAction._validate_action_result` calls `jsonschema.validate()`, which re-checks the schema itself
   on every call: py-spy showed it taking 64 % of the Rasa process's CPU under load. We validate against
   the same schema with a validator built once; invalid responses still raise the same ValidationError.
3. `Event.resolve_by_type` walks every Event subclass (with `inspect.isabstract` on each) for every event it
   deserialises: 27 % of the Rasa process's CPU under load (py-spy). We remember each type name's class.
4. `EndpointConfig.request` builds a new aiohttp session (connector, TCP connect) for every action call.
   We keep one session per endpoint and event loop, with idle connections dropped after 2 s, before
   Sanic's 5 s keep-alive timeout on the action server can close them under a request.
5. `rasa.core.run.configure_app` builds the Sanic app with Sanic's defaults: request bodies up to 100 MB,
   and the client address from the socket only. We cap bodies (and websocket frames) at
   `MAX_REQUEST_BYTES` (Sanic then answers 413) and trust `PROXIES_COUNT` reverse proxies' X-Forwarded-For,
   so per-client limits see the client behind nginx.
"""
from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Any, Dict, Optional, Tuple, Type

import aiohttp
import rasa
import rasa.core.actions.action as rasa_action
import rasa.core.run as rasa_run
import rasa.utils.endpoints as rasa_endpoints
from jsonschema import ValidationError, validators
from rasa.shared.core.events import Event

from bot.settings import Settings

RASA_VERSION = "3.6.21"
IDLE_CONNECTION_S = 2  # below Sanic's 5 s keep-alive on the action server
MAX_CONNECTIONS = 100
_installed: Optional[Settings] = None  # the settings installed, once installed


class UnsupportedRasaVersion(RuntimeError):
    pass


def installed() -> bool:
    return _installed is not None


def install(config: Settings) -> None:
    """Applies every patch once. Raises UnsupportedRasaVersion on another Rasa version."""
    global _installed
    if rasa.__version__ != RASA_VERSION:
        raise UnsupportedRasaVersion(f"bot/rasa_patches.py was written for Rasa {RASA_VERSION}, not "
                                     f"{rasa.__version__}: re-check each patch against the new version")
    if _installed is not None:
        return
    _installed = config
    rasa_action.DEFAULT_REQUEST_TIMEOUT = config.action_timeout
    rasa_endpoints.DEFAULT_REQUEST_TIMEOUT = config.action_timeout
    rasa_action.RemoteAction._validate_action_result = _validate_action_result
    Event.resolve_by_type = staticmethod(_resolve_by_type)
    rasa_endpoints.EndpointConfig.session = _endpoint_session
    rasa_run.configure_app = _configure_app


_configure_app_unlimited = rasa_run.configure_app


def _configure_app(*args, **kwargs):
    assert _installed is not None
    app = _configure_app_unlimited(*args, **kwargs)
    app.config.REQUEST_MAX_SIZE = _installed.max_request_bytes
    app.config.WEBSOCKET_MAX_SIZE = _installed.max_request_bytes
    app.config.PROXIES_COUNT = _installed.proxies_count
    return app


@lru_cache(maxsize=1)
def _action_result_validator():
    schema = rasa_action.RemoteAction.action_response_format_spec()
    return validators.validator_for(schema)(schema)


def _validate_action_result(self, result) -> bool:
    try:
        _action_result_validator().validate(result)
        return True
    except ValidationError as e:
        e.message += (". Failed to validate Action server response from API, make sure your response from the "
                      f"Action endpoint is valid. For more information about the format visit "
                      f"{rasa_action.DOCS_BASE_URL}/custom-actions")
        raise e


_event_classes: Dict[str, Type[Event]] = {}
_resolve_by_type_uncached = Event.resolve_by_type


def _resolve_by_type(type_name, default=None):
    cls = _event_classes.get(type_name)
    if cls is None:
        cls = _resolve_by_type_uncached(type_name, default)  # raises on unknown names, as before
        if cls is not None and cls is not default:
            _event_classes[type_name] = cls
    return cls


class _KeptSession:
    """`async with` yields the shared session without closing it; anything else goes to the session."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *exc_info) -> None:
        return None

    def __getattr__(self, name):
        return getattr(self.session, name)


_sessions: Dict[Tuple[Any, ...], aiohttp.ClientSession] = {}


def _endpoint_session(self) -> aiohttp.ClientSession:
    auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
    key = (id(asyncio.get_running_loop()), self.url, repr(sorted(self.headers.items())), repr(auth))
    session = _sessions.get(key)
    if session is None or session.closed:
        session = aiohttp.ClientSession(headers=self.headers, auth=auth,
                                        connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_CONNECTION_S,
                                                                       limit=MAX_CONNECTIONS),
                                        timeout=aiohttp.ClientTimeout(total=_installed.action_timeout
                                                                      if _installed else None))
        _sessions[key] = session
    return _KeptSession(session)  # type: ignore[return-value]

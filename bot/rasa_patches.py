"""Small, measured fixes to Rasa 3.6.21 internals, applied when our channels load in the Rasa process.

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
"""
from __future__ import annotations

import asyncio
import os
from functools import lru_cache

import aiohttp

import rasa.core.actions.action as rasa_action
import rasa.utils.endpoints as rasa_endpoints
from rasa.shared.core.events import Event
from jsonschema import ValidationError, validators

ACTION_TIMEOUT = float(os.environ.get("ACTION_TIMEOUT", "6"))
rasa_action.DEFAULT_REQUEST_TIMEOUT = ACTION_TIMEOUT
rasa_endpoints.DEFAULT_REQUEST_TIMEOUT = ACTION_TIMEOUT


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


rasa_action.RemoteAction._validate_action_result = _validate_action_result


_event_classes = {}
_resolve_by_type_uncached = Event.resolve_by_type


def _resolve_by_type(type_name, default=None):
    cls = _event_classes.get(type_name)
    if cls is None:
        cls = _resolve_by_type_uncached(type_name, default)  # raises on unknown names, as before
        if cls is not None and cls is not default:
            _event_classes[type_name] = cls
    return cls


Event.resolve_by_type = staticmethod(_resolve_by_type)


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


_sessions = {}


def _endpoint_session(self) -> aiohttp.ClientSession:
    auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
    key = (id(asyncio.get_running_loop()), self.url, repr(sorted(self.headers.items())), repr(auth))
    session = _sessions.get(key)
    if session is None or session.closed:
        session = aiohttp.ClientSession(headers=self.headers, auth=auth,
                                        connector=aiohttp.TCPConnector(keepalive_timeout=2, limit=100),
                                        timeout=aiohttp.ClientTimeout(total=ACTION_TIMEOUT))
        _sessions[key] = session
    return _KeptSession(session)


rasa_endpoints.EndpointConfig.session = _endpoint_session

"""Small, measured fixes to Rasa 3.6.21 internals, applied when our channels load in the Rasa process.

1. Rasa waits 300 s for the action server (`DEFAULT_REQUEST_TIMEOUT`, read at call time); a hung action
   server would hang the visitor for 5 minutes. We cap it at `ACTION_TIMEOUT` (default 6 s).
2. `RemoteAction._validate_action_result` calls `jsonschema.validate()`, which re-checks the schema itself
   on every call: py-spy showed it taking 64 % of the Rasa process's CPU under load. We validate against
   the same schema with a validator built once; invalid responses still raise the same ValidationError.
"""
from __future__ import annotations

import os
from functools import lru_cache

import rasa.core.actions.action as rasa_action
import rasa.utils.endpoints as rasa_endpoints
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

"""SQL tracker store that fails loudly instead of forgetting conversations.

Rasa wraps every tracker store in FailSafeTrackerStore, which swallows errors: a failed read returns no
tracker, so the user silently starts a new conversation, and a failed write goes to an in-memory store that
a restart loses. Here a database error is logged as an error and raised as `TrackerStoreUnavailable`, a
BaseException that FailSafeTrackerStore's `except Exception` lets through, so the channel
(bot/channels/turns.py) answers "please try again" instead of an answer that forgot the conversation.
Configured in endpoints.yml as `type: bot.tracker_store.StrictSQLTrackerStore`.
"""
from __future__ import annotations

import logging
from typing import Any, Optional, Text

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

log = logging.getLogger(__name__)


class TrackerStoreUnavailable(BaseException):
    """The conversation store cannot be read or written."""


class StrictSQLTrackerStore(SQLTrackerStore):
    def _fail(self, operation: str, sender_id: Text, exc: Exception) -> None:
        log.error("TRACKER STORE UNAVAILABLE: cannot %s the conversation of a sender (%s: %s)", operation,
                  type(exc).__name__, exc)
        raise TrackerStoreUnavailable(f"{operation} failed: {exc}") from exc

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        try:
            return await super().retrieve(sender_id)
        except Exception as exc:  # noqa: BLE001
            self._fail("read", sender_id, exc)

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        try:
            return await super().retrieve_full_tracker(conversation_id)
        except Exception as exc:  # noqa: BLE001
            self._fail("read", conversation_id, exc)

    async def save(self, tracker: DialogueStateTracker) -> Any:
        try:
            return await super().save(tracker)
        except Exception as exc:  # noqa: BLE001
            self._fail("save", tracker.sender_id, exc)

"""bot.stores.tracker_store: each turn loads a bounded window, yet nothing is lost and the state is the full state."""
from __future__ import annotations

import asyncio

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

from bot.stores.tracker_store import StrictSQLTrackerStore

WINDOW = 20


@pytest.fixture
def store(tmp_path):
    return StrictSQLTrackerStore(Domain.load("domain.yml"), db=str(tmp_path / "t.db"), window=WINDOW)


def take_turn(store, sender, k, set_slot):
    """What Rasa does per turn: load, append the turn's events, save."""
    async def turn():
        tracker = await store.get_or_create_tracker(sender, append_action_listen=False)
        if not tracker.events:
            for event in (ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")):
                tracker.update(event)
        loaded = len(tracker.events)
        tracker.update(UserUttered(f"question {k}", {"name": "ask_iom", "confidence": 1.0}))
        tracker.update(ActionExecuted("action_answer"))
        if set_slot:
            tracker.update(SlotSet("last_entry", f"entry-{k}"))
        tracker.update(BotUttered(f"answer {k}"))
        tracker.update(ActionExecuted("action_listen"))
        await store.save(tracker)
        return loaded
    return asyncio.run(turn())


def stored_events(store, sender):
    return asyncio.run(store.retrieve_full_tracker(sender)).events


def test_long_conversation_loads_a_bounded_window_and_stores_every_event(store):
    loaded = [take_turn(store, "s1", k, set_slot=True) for k in range(60)]
    assert max(loaded) <= WINDOW + 2  # window + session start + the slot carried from before the window
    events = list(stored_events(store, "s1"))
    users = [e.text for e in events if isinstance(e, UserUttered)]
    assert users == [f"question {k}" for k in range(60)]  # every turn stored once, in order
    assert len(events) == 3 + 60 * 5
    tracker = asyncio.run(store.retrieve("s1"))
    assert tracker.get_slot("last_entry") == "entry-59"
    assert tracker.latest_message.text == "question 59"


def test_a_slot_set_before_the_window_keeps_its_value(store):
    take_turn(store, "s2", 0, set_slot=True)
    for k in range(1, 40):
        take_turn(store, "s2", k, set_slot=False)
    tracker = asyncio.run(store.retrieve("s2"))
    assert len(tracker.events) <= WINDOW + 2
    assert tracker.get_slot("last_entry") == "entry-0"
    assert isinstance(tracker.events[0], SessionStarted)


def test_a_short_conversation_is_loaded_whole(store):
    for k in range(2):
        take_turn(store, "s3", k, set_slot=True)
    everything = list(stored_events(store, "s3"))
    start = next(i for i, e in enumerate(everything) if isinstance(e, SessionStarted))
    assert list(asyncio.run(store.retrieve("s3")).events) == everything[start:]  # the session, as stock Rasa loads it


def test_only_the_latest_session_is_loaded(store):
    take_turn(store, "s4", 0, set_slot=True)

    async def new_session():
        tracker = await store.retrieve("s4")
        for event in (ActionExecuted("action_session_start"), SessionStarted(), SlotSet("last_entry", "carried"),
                      ActionExecuted("action_listen")):
            tracker.update(event)
        await store.save(tracker)
    asyncio.run(new_session())
    take_turn(store, "s4", 1, set_slot=False)
    tracker = asyncio.run(store.retrieve("s4"))
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["question 1"]
    assert tracker.get_slot("last_entry") == "carried"


def test_a_database_file_removed_under_the_store_fails_loudly_not_into_the_old_file(store, tmp_path):
    from bot.stores.tracker_store import TrackerStoreUnavailable
    take_turn(store, "s5", 0, set_slot=True)
    (tmp_path / "t.db").unlink()  # the pooled connection still has the old, now unlinked, file open
    with pytest.raises(TrackerStoreUnavailable):
        take_turn(store, "s5", 1, set_slot=True)

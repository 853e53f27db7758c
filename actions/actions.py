"""The one custom action: answers every turn from the content store. The logic lives in bot.answers.dialogue."""
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.answers.content_store import ContentStore, shared_store
from bot.answers.dialogue import decide
from bot.protocol import TURN_KEY, Fallback, TurnRecord
from bot.settings import settings

TOPIC_SLOT = "last_entry"


class ActionAnswer(Action):
    def __init__(self, store: Optional[ContentStore] = None) -> None:
        # rasa_sdk builds the action once per process, with no arguments: the configured content directory.
        self.store = store or shared_store(settings().content_dir)

    def name(self) -> Text:
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        message = tracker.latest_message or {}
        intent = message.get("intent") or {}
        reply = decide(
            self.store.get(),
            intent=intent.get("name"),
            entities=message.get("entities") or [],
            ranking=message.get("intent_ranking") or [],
            last_entry_id=tracker.get_slot(TOPIC_SLOT),
            fallback=Fallback.from_parse_data(message),
            text=message.get("text") or "",
        )
        record = TurnRecord(intent.get("name"), round(float(intent.get("confidence") or 0), 3), reply.entry_id,
                            reply.kind)
        dispatcher.utter_message(text=reply.text, buttons=reply.buttons, **{TURN_KEY: record.to_dict()})
        return [SlotSet(TOPIC_SLOT, reply.entry_id)] if reply.entry_id else []

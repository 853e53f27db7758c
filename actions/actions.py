"""The one custom action: answers every turn from the content store. The logic lives in bot.dialogue."""
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.content_store import default_store
from bot.dialogue import decide

log = logging.getLogger(__name__)
TOPIC_SLOT = "last_entry"


class ActionAnswer(Action):
    def name(self) -> Text:
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        message = tracker.latest_message or {}
        reply = decide(
            default_store().get(),
            intent=(message.get("intent") or {}).get("name"),
            entities=message.get("entities") or [],
            ranking=message.get("intent_ranking") or [],
            last_entry_id=tracker.get_slot(TOPIC_SLOT),
        )
        dispatcher.utter_message(text=reply.text, buttons=reply.buttons)
        return [SlotSet(TOPIC_SLOT, reply.entry_id)] if reply.entry_id else []

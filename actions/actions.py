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
        intent = message.get("intent") or {}
        reply = decide(
            default_store().get(),
            intent=intent.get("name"),
            entities=message.get("entities") or [],
            ranking=message.get("intent_ranking") or [],
            last_entry_id=tracker.get_slot(TOPIC_SLOT),
            text=message.get("text") or "",
        )
        # `turn` rides along as message metadata for the channel's per-turn log line (bot/channels/turns.py).
        turn = {"intent": intent.get("name"), "confidence": round(float(intent.get("confidence") or 0), 3),
                "entry": reply.entry_id, "kind": reply.kind}
        dispatcher.utter_message(text=reply.text, buttons=reply.buttons, turn=turn)
        return [SlotSet(TOPIC_SLOT, reply.entry_id)] if reply.entry_id else []

"""The one custom action: answers every turn from the content store. The logic lives in bot.answers."""
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.answers.content_store import ContentStore, shared_store
from bot.answers.dialogue import SWITCH_INTENT, Dialogue, Options, Understood, decide
from bot.answers.feedback import AWAITING_COMMENT_SLOT, typed_rating_is_comment
from bot.answers.language import choose_language, named_language
from bot.protocol import REPLY_LANGUAGE_KEY, REQUESTED_LANGUAGE_KEY, TURN_KEY, DetectedLanguage, Fallback, TurnRecord
from bot.settings import settings

TOPIC_SLOT = "last_entry"
LANGUAGE_SLOT = "language"
LANGUAGE_ENTITY = "language"


def previous_user_text(tracker: Tracker) -> str:
    """The visitor's message before the latest one (for "and the Brussels office?"), or ""."""
    texts = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]
    return texts[-2] if len(texts) >= 2 else ""


def requested_language(entities: List[Dict[str, Any]]) -> Optional[str]:
    return next((e.get("value") for e in entities if e.get("entity") == LANGUAGE_ENTITY), None)


class ActionAnswer(Action):
    def __init__(self, store: Optional[ContentStore] = None, options: Optional[Options] = None) -> None:
        # rasa_sdk builds the action once per process, with no arguments: the configured content and options.
        config = settings()
        self.store = store or shared_store(config.content_dir)
        self.options = options or Options(config.contact_email, config.contact_url, config.retention_days)

    def name(self) -> Text:
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        content = self.store.get()
        message = tracker.latest_message or {}
        intent = message.get("intent") or {}
        entities = message.get("entities") or []
        metadata = message.get("metadata") or {}
        text = message.get("text") or ""
        asked_before = metadata.get(REQUESTED_LANGUAGE_KEY)  # "In French please: …" (bot/channels/base.py)
        requested = requested_language(entities) or asked_before or \
            (named_language(text) if intent.get("name") == SWITCH_INTENT else None)
        language = choose_language(tracker.get_slot(LANGUAGE_SLOT), DetectedLanguage.from_parse_data(message),
                                   hint=metadata.get("language"), requested=requested)
        understood = Understood(intent.get("name"), entities, message.get("intent_ranking") or [],
                                Fallback.from_parse_data(message), message.get("text") or "",
                                previous_user_text(tracker))
        awaiting_comment = tracker.get_slot(AWAITING_COMMENT_SLOT)
        if typed_rating_is_comment(understood.intent, understood.text, awaiting_comment, content):
            reply = Dialogue(content, language.reply, self.options).comment(awaiting_comment, understood.text)
        else:
            reply = decide(content, understood, tracker.get_slot(TOPIC_SLOT), language.reply, self.options,
                           awaiting_comment)
        written_in = {REPLY_LANGUAGE_KEY: language.reply}
        if language.other:  # a language we do not answer in: say so, in one line, before the answer
            dispatcher.utter_message(text=content.message("other_language", language.reply), **written_in)
        if asked_before and language.reply != tracker.get_slot(LANGUAGE_SLOT) and not reply.preface:
            dispatcher.utter_message(text=content.message("language_switched", language.reply), **written_in)
        if reply.preface:
            dispatcher.utter_message(text=reply.preface, **written_in)
        record = TurnRecord(intent.get("name"), round(float(intent.get("confidence") or 0), 3), reply.entry_id,
                            reply.kind, language.reply)
        dispatcher.utter_message(text=reply.text, buttons=reply.buttons, **written_in, **{TURN_KEY: record.to_dict()})
        events = [SlotSet(LANGUAGE_SLOT, language.reply)]
        events += [SlotSet(name, value) for name, value in reply.slots.items()]
        if reply.entry_id:
            events.append(SlotSet(TOPIC_SLOT, reply.entry_id))
        return events

"""Decides what to answer: maps the NLU result and the conversation context to a reply from the content.

Pure functions over `Content`, so the action server stays thin and the logic is tested without Rasa.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

from bot.answers.content_store import SUBJECT_ENTITY, Content, Entry
from bot.protocol import Fallback, FallbackReason, ReplyKind

FALLBACK_INTENT = "nlu_fallback"
# Intents answered with a message of the same name, and whether the topic menu comes with it.
MESSAGE_INTENTS = {
    "greet": False, "goodbye": False, "thanks": False, "bot_challenge": False,
    "help": True, "out_of_scope": True, "ask_unavailable": True, "ask_personal_case": True,
}
MESSAGE_KEYS = {"ask_unavailable": "unavailable", "ask_personal_case": "personal_case"}
MORE_INTENT = "ask_more"
# "When was it founded?" right after a question about IOM is about IOM, not the Brussels office -- unless
# the question names the office ("when was the office established?").
CONTEXT_REDIRECTS: Dict[Tuple[str, str], Optional[str]] = {("ask_history", "ask_iom"): "ask_iom",
                                                            ("ask_history", "ask_iom_work"): "ask_iom"}
OFFICE_WORDS = re.compile(r"\b(office|brussels|liaison)\b", re.I)
# On a fallback, a named subject ("tell me more about return") is answered when the top intent reaches this
# share of the fallback threshold and is about subjects: the phrasing is unsure, the subject is not.
SUBJECT_RESCUE_SHARE = 0.5


@dataclass
class Reply:
    text: str
    buttons: List[Dict[str, str]] = field(default_factory=list)
    entry_id: Optional[str] = None  # the content entry answered, remembered as the conversation's topic
    kind: ReplyKind = ReplyKind.ANSWER


def subject_of(entities: Iterable[dict]) -> Optional[str]:
    for entity in entities or []:
        if entity.get("entity") == SUBJECT_ENTITY and isinstance(entity.get("value"), str):
            return entity["value"]
    return None


def answer_entry(content: Content, entry: Entry) -> Reply:
    return Reply(entry.answer, content.buttons(entry.followups), entry.id)


def menu_reply(content: Content, key: str, kind: ReplyKind = ReplyKind.MESSAGE) -> Reply:
    return Reply(content.message(key), content.buttons(content.menu), None, kind)


def _more(content: Content, last: Optional[Entry]) -> Reply:
    if last is None:
        return menu_reply(content, "no_context")
    if last.more:
        return Reply(last.more, content.buttons(last.followups), last.id, ReplyKind.MORE)
    return Reply(content.message("no_more", title=last.title), content.buttons(last.followups), last.id,
                 ReplyKind.MORE)


def _uncertain(content: Content, ranking: List[dict], entities, fallback: Optional[Fallback]) -> Reply:
    """nlu_fallback: ask "did you mean" when two answers are close, otherwise say what we can answer."""
    candidates = [r for r in ranking or [] if r.get("name") != FALLBACK_INTENT][:2]
    subject = subject_of(entities)
    if fallback and subject and candidates and candidates[0]["name"] in content.subject_intents | {MORE_INTENT} \
            and candidates[0]["confidence"] >= fallback.threshold * SUBJECT_RESCUE_SHARE:
        entry = content.find(candidates[0]["name"], subject)
        if entry:
            return answer_entry(content, entry)
    if fallback and fallback.reason is FallbackReason.AMBIGUOUS and len(candidates) == 2:
        entries = [content.find(c["name"], subject) for c in candidates]
        if entries[0] and entries[1] and entries[0].id != entries[1].id:
            return Reply(content.message("did_you_mean"), content.buttons(e.id for e in (entries[0], entries[1])),
                         None, ReplyKind.DID_YOU_MEAN)
    return menu_reply(content, "fallback", ReplyKind.FALLBACK)


def decide(content: Content, intent: Optional[str], entities=(), ranking=(), last_entry_id: Optional[str] = None,
           fallback: Optional[Fallback] = None, text: str = "") -> Reply:
    """The reply to one user turn."""
    last = content.entries.get(last_entry_id) if last_entry_id else None
    if intent in MESSAGE_INTENTS:
        text = content.message(MESSAGE_KEYS.get(intent, intent))
        return Reply(text, content.buttons(content.menu) if MESSAGE_INTENTS[intent] else [], None, ReplyKind.MESSAGE)
    if intent == FALLBACK_INTENT:
        return _uncertain(content, list(ranking), entities, fallback)
    subject = subject_of(entities)
    if intent == MORE_INTENT and not subject:
        return _more(content, last)
    if last and not subject and not OFFICE_WORDS.search(text or ""):
        intent = CONTEXT_REDIRECTS.get((intent or "", last.intent or ""), intent)
    entry = content.find(intent, subject)
    if entry is None:
        return menu_reply(content, "fallback", ReplyKind.FALLBACK)
    return answer_entry(content, entry)

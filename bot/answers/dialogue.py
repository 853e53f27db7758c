"""Decides what to answer: maps the NLU result and the conversation context to a reply from the content.

Pure functions over `Content`, so the action server stays thin and the logic is tested without Rasa.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from bot.answers.content_store import DEFAULT_LANGUAGE, SUBJECT_ENTITY, Content, Entry
from bot.answers.mentions import bare, mentioned_position, pick
from bot.protocol import Fallback, FallbackReason, ReplyKind

FALLBACK_INTENT = "nlu_fallback"
# Intents answered with a message of the same name, and whether the topic menu comes with it.
MESSAGE_INTENTS = {
    "greet": False, "goodbye": False, "thanks": False, "bot_challenge": False,
    "help": True, "out_of_scope": True, "ask_unavailable": True, "ask_personal_case": True,
    "switch_language": True,
}
MESSAGE_KEYS = {"ask_unavailable": "unavailable", "ask_personal_case": "personal_case",
                "switch_language": "language_switched"}
MORE_INTENT = "ask_more"
# "When was it founded?" right after a question about IOM is about IOM, not the Brussels office -- unless
# the question names the office ("when was the office established?").
CONTEXT_REDIRECTS: Dict[Tuple[str, str], Optional[str]] = {("ask_history", "ask_iom"): "ask_iom",
                                                            ("ask_history", "ask_iom_work"): "ask_iom"}
OFFICE_WORDS = re.compile(r"\b(office|brussels|liaison|bureau|bruxelles|brussel)\b", re.I)
# "Who else?" after one partner or priority: the whole list it belongs to.
OTHERS = re.compile(r"\b(who else|what else|which others?|the others|any others?|other ones|"
                    r"qui d'autre|quoi d'autre|quels autres|quelles autres|les autres|d'autres)\b", re.I)
# On a fallback, a named subject ("tell me more about return") is answered when the top intent reaches this
# share of the fallback threshold and is about subjects: the phrasing is unsure, the subject is not.
SUBJECT_RESCUE_SHARE = 0.5
MENTION_WORDS = 6  # a message this short that names a position refers to the list just shown


@dataclass(frozen=True)
class Understood:
    """What the NLU made of the visitor's message."""
    intent: Optional[str]
    entities: Sequence[dict] = ()
    ranking: Sequence[dict] = ()
    fallback: Optional[Fallback] = None
    text: str = ""


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


class Dialogue:
    """Picks the reply to one turn, in one language."""

    def __init__(self, content: Content, language: str) -> None:
        self.content, self.language = content, language

    def answer(self, entry: Entry) -> Reply:
        return Reply(entry.answer[self.language], self.content.buttons(entry.followups, self.language), entry.id)

    def menu(self, key: str, kind: ReplyKind = ReplyKind.MESSAGE) -> Reply:
        return Reply(self.content.message(key, self.language), self.content.buttons(self.content.menu, self.language),
                     None, kind)

    def more(self, last: Optional[Entry]) -> Reply:
        if last is None:
            return self.menu("no_context")
        buttons = self.content.buttons(last.followups, self.language)
        if last.more:
            return Reply(last.more[self.language], buttons, last.id, ReplyKind.MORE)
        return Reply(self.content.message("no_more", self.language, title=last.title[self.language]), buttons, last.id,
                     ReplyKind.MORE)

    def uncertain(self, understood: Understood) -> Reply:
        """nlu_fallback: ask "did you mean" when two answers are close, otherwise say what we can answer."""
        content, fallback = self.content, understood.fallback
        candidates = [r for r in understood.ranking or [] if r.get("name") != FALLBACK_INTENT][:2]
        subject = subject_of(understood.entities)
        if fallback and subject and candidates and candidates[0]["name"] in content.subject_intents | {MORE_INTENT} \
                and candidates[0]["confidence"] >= fallback.threshold * SUBJECT_RESCUE_SHARE:
            entry = content.find(candidates[0]["name"], subject)
            if entry:
                return self.answer(entry)
        if fallback and fallback.reason is FallbackReason.AMBIGUOUS and len(candidates) == 2:
            entries = [content.find(c["name"], subject) for c in candidates]
            if entries[0] and entries[1] and entries[0].id != entries[1].id:
                return Reply(content.message("did_you_mean", self.language),
                             content.buttons((entries[0].id, entries[1].id), self.language), None,
                             ReplyKind.DID_YOU_MEAN)
        return self.menu("fallback", ReplyKind.FALLBACK)

    def in_context(self, understood: Understood, last: Optional[Entry]) -> Optional[Entry]:
        """The entry a short follow-up means in the conversation's context: an item of the list just shown
        ("the third one"), or the whole list after one of its items ("who else?")."""
        if last is None or subject_of(understood.entities):
            return None
        related = understood.intent in (last.intent, MORE_INTENT, FALLBACK_INTENT, None)
        if last.items and (related or bare(understood.text)):
            item = pick(last.items, mentioned_position(understood.text))
            if item:
                return self.content.entries[item]
        short = len(understood.text.split()) <= MENTION_WORDS
        if last.subject and (related or short) and OTHERS.search(understood.text):
            return self.content.find(last.intent, None)
        return None

    def decide(self, understood: Understood, last_entry_id: Optional[str] = None) -> Reply:
        content = self.content
        last = content.entries.get(last_entry_id) if last_entry_id else None
        intent = understood.intent
        follow_up = self.in_context(understood, last)
        if follow_up is not None:
            return self.answer(follow_up)
        if intent in MESSAGE_INTENTS:
            return Reply(content.message(MESSAGE_KEYS.get(intent, intent), self.language),
                         content.buttons(content.menu, self.language) if MESSAGE_INTENTS[intent] else [], None,
                         ReplyKind.MESSAGE)
        if intent == FALLBACK_INTENT:
            return self.uncertain(understood)
        subject = subject_of(understood.entities)
        if intent == MORE_INTENT and not subject:
            return self.more(last)
        if last and not subject and not OFFICE_WORDS.search(understood.text or ""):
            intent = CONTEXT_REDIRECTS.get((intent or "", last.intent or ""), intent)
        entry = content.find(intent, subject)
        if entry is None:
            return self.menu("fallback", ReplyKind.FALLBACK)
        return self.answer(entry)


def decide(content: Content, understood: Understood, last_entry_id: Optional[str] = None,
           language: str = DEFAULT_LANGUAGE) -> Reply:
    """The reply to one user turn, in `language`."""
    return Dialogue(content, language).decide(understood, last_entry_id)

"""Decides what to answer: maps the NLU result and the conversation context to a reply from the content.

Pure functions over `Content`, so the action server stays thin and the logic is tested without Rasa.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import yaml

from bot.content_store import SUBJECT_ENTITY, Content, Entry

CONFIG_FILE = Path(__file__).resolve().parent.parent / "config.yml"
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
CONTEXT_REDIRECTS = {("ask_history", "ask_iom"): "ask_iom", ("ask_history", "ask_iom_work"): "ask_iom"}
OFFICE_WORDS = re.compile(r"\b(office|brussels|liaison)\b", re.I)


@dataclass
class Reply:
    text: str
    buttons: List[Dict[str, str]] = field(default_factory=list)
    entry_id: Optional[str] = None  # the content entry answered, remembered as the conversation's topic
    kind: str = "answer"  # answer | more | message | did_you_mean | fallback (for logs and tests)


@dataclass(frozen=True)
class Thresholds:
    threshold: float
    ambiguity_threshold: float


@lru_cache(maxsize=None)
def fallback_thresholds(config_file: Path = CONFIG_FILE) -> Thresholds:
    """The FallbackClassifier settings from config.yml, so the tuned values live in one place."""
    config = yaml.safe_load(Path(config_file).read_text(encoding="utf-8"))
    for component in config.get("pipeline", []):
        if component.get("name") == "FallbackClassifier":
            return Thresholds(float(component["threshold"]), float(component["ambiguity_threshold"]))
    raise ValueError(f"{config_file}: no FallbackClassifier in the pipeline")


def subject_of(entities: Iterable[dict]) -> Optional[str]:
    for entity in entities or []:
        if entity.get("entity") == SUBJECT_ENTITY and isinstance(entity.get("value"), str):
            return entity["value"]
    return None


def answer_entry(content: Content, entry: Entry) -> Reply:
    return Reply(entry.answer, content.buttons(entry.followups), entry.id)


def menu_reply(content: Content, key: str, kind: str = "message") -> Reply:
    return Reply(content.message(key), content.buttons(content.menu), None, kind)


def _more(content: Content, last: Optional[Entry]) -> Reply:
    if last is None:
        return menu_reply(content, "no_context")
    if last.more:
        return Reply(last.more, content.buttons(last.followups), last.id, "more")
    return Reply(content.message("no_more", title=last.title), content.buttons(last.followups), last.id, "more")


def _uncertain(content: Content, ranking: List[dict], entities, thresholds: Thresholds) -> Reply:
    """nlu_fallback: ask "did you mean" when two answers are close, otherwise say what we can answer."""
    candidates = [r for r in ranking or [] if r.get("name") != FALLBACK_INTENT][:2]
    subject = subject_of(entities)
    if subject and candidates and candidates[0]["name"] in content.subject_intents | {MORE_INTENT} \
            and candidates[0]["confidence"] >= thresholds.threshold / 2:
        # Unsure of the phrasing but a known subject was named ("tell me more about return"): answer it.
        entry = content.find(candidates[0]["name"], subject)
        if entry:
            return answer_entry(content, entry)
    if len(candidates) == 2:
        (first, second) = candidates
        close = first["confidence"] - second["confidence"] < thresholds.ambiguity_threshold
        if close and first["confidence"] >= thresholds.threshold:
            entries = [content.find(c["name"], subject) for c in candidates]
            if all(entries) and entries[0].id != entries[1].id:
                return Reply(content.message("did_you_mean"), content.buttons(e.id for e in entries),
                             None, "did_you_mean")
    return menu_reply(content, "fallback", "fallback")


def decide(content: Content, intent: Optional[str], entities=(), ranking=(), last_entry_id: Optional[str] = None,
           thresholds: Optional[Thresholds] = None, text: str = "") -> Reply:
    """The reply to one user turn."""
    last = content.entries.get(last_entry_id) if last_entry_id else None
    if intent in MESSAGE_INTENTS:
        text = content.message(MESSAGE_KEYS.get(intent, intent))
        return Reply(text, content.buttons(content.menu) if MESSAGE_INTENTS[intent] else [], None, "message")
    if intent == FALLBACK_INTENT:
        return _uncertain(content, list(ranking), entities, thresholds or fallback_thresholds())
    subject = subject_of(entities)
    if intent == MORE_INTENT and not subject:
        return _more(content, last)
    if last and not subject and not OFFICE_WORDS.search(text or ""):
        intent = CONTEXT_REDIRECTS.get((intent, last.intent), intent)
    entry = content.find(intent, subject)
    if entry is None:
        return menu_reply(content, "fallback", "fallback")
    return answer_entry(content, entry)

"""The content store: every answer the assistant gives lives in the YAML files of `bot/content/`.

Every text (an entry's `title`, `answer`, `more`; every message) exists in each of `LANGUAGES`, English and
French, side by side in the same entry, so an editor changes both at once. The French is a faithful
translation resting on the same English seed `source`; the loader refuses an entry whose translation is
missing and checks what a machine can: the same numbers, the same acronyms (or their French forms), the
same bold phrases and list items, the same placeholders. An overview entry names its list's `items` in
order, so "the third one" can be answered (bot/answers/mentions.py); their count must match the list.

`load_content()` reads and validates a directory and returns an immutable `Content`; any problem raises a
`ContentError` naming the file, the entry and the field. `ContentStore` keeps the last good `Content` and
reloads it when a file changes (checked at most once per `check_interval` seconds), so editors change
answers without a restart or retraining; an invalid edit is logged and the last good content keeps serving.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

import yaml

from bot.settings import CONTENT_DIR

log = logging.getLogger(__name__)

LANGUAGES = ("en", "fr")  # every text exists in each; the first is the default
DEFAULT_LANGUAGE = LANGUAGES[0]
# English acronyms and the forms a French translation may use instead.
ACRONYM_TRANSLATIONS: Mapping[str, Tuple[str, ...]] = {
    "IOM": ("OIM",), "EU": ("UE", "Union européenne", "européen"), "UN": ("ONU", "Nations Unies"),
    "NGO": ("ONG",), "NGOs": ("ONG",),
}
ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]+s?\b")
LIST_ITEM = re.compile(r"^\s*- ", re.M)
NUMBER = re.compile(r"\d+")
YEAR = re.compile(r"\b(?:1[89]\d\d|20\d\d)\b")
PLACEHOLDER = re.compile(r"{\w+}")
SEED_FILE = "seed.txt"
MESSAGES_FILE = "messages.yml"
MAX_FOLLOWUPS = 5  # buttons per reply: Slack drops a block of more than 5
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
SUBJECT_ENTITY = "subject"
# Markdown links [text](target) and autolinks <scheme:...>: a `javascript:` target would be clickable in the
# widget, so only these schemes are accepted.
LINK = re.compile(r"\[[^\]]*\]\(\s*([^)\s]*)|<([A-Za-z][A-Za-z0-9+.-]*:[^>\s]*)>")
LINK_SCHEMES = ("https", "http", "mailto")
# Message keys the dialogue code relies on, with the placeholders each must contain.
REQUIRED_MESSAGES: Mapping[str, Tuple[str, ...]] = {
    "greet": (), "goodbye": (), "thanks": (), "bot_challenge": (), "help": (), "fallback": (),
    "out_of_scope": (), "unavailable": (), "personal_case": (), "did_you_mean": (),
    "no_more": ("{title}",), "no_context": (), "empty_message": (), "too_long": ("{length}", "{limit}"),
    "try_again": (), "slow_down": (), "language_switched": (), "what_next": (), "other_language": (),
    "retention_notice": ("{days}",), "contact": ("{route}",), "contact_none": (), "or": (),
    "feedback_up_button": (), "feedback_down_button": (), "feedback_reason_wrong": (), "feedback_reason_missing": (),
    "feedback_reason_unclear": (), "feedback_thanks": (), "feedback_reasons": (), "feedback_comment": (),
    "feedback_comment_thanks": (), "feedback_noted": (), "escalate_button": (), "escalated": (),
    "no_detail": (), "no_detail_button": (), "count": ("{n}",),
}


class ContentError(ValueError):
    """A content file is invalid. The message names the file, and the entry and field when known."""

    def __init__(self, file: str, problem: str, entry: Optional[str] = None, field_name: Optional[str] = None):
        where = file + (f", entry '{entry}'" if entry else "") + (f", field '{field_name}'" if field_name else "")
        super().__init__(f"{where}: {problem}")
        self.file, self.entry, self.field, self.problem = file, entry, field_name, problem


def normalise(text: str) -> str:
    """Collapse whitespace so sources match the seed however the YAML wraps them."""
    return " ".join(text.split())


Localized = Mapping[str, str]  # language -> text


@dataclass(frozen=True)
class Entry:
    id: str
    title: Localized
    answer: Localized
    source: Tuple[str, ...]
    file: str
    intent: Optional[str] = None
    subject: Optional[str] = None
    followups: Tuple[str, ...] = ()
    more: Optional[Localized] = None
    items: Tuple[str, ...] = ()  # the entries an overview lists, in the order of its answer
    # Words naming an overview's items in any language ("partner", "résultat"): "the third partner" picks
    # one without the NLU; with `countable`, "how many partners?" is answered with the number of items.
    item_words: Optional["re.Pattern[str]"] = None
    countable: bool = False  # the items are the whole list (not "such as…" examples)
    # A question classified here that names another entry's subject ("what does the office aim for on
    # diasporas?") is answered by that subject's entry.
    defers_to_subject: bool = False

    @property
    def payload(self) -> str:
        """The message a button for this entry sends: the entry's intent (and subject) in Rasa's syntax."""
        if self.subject:
            return f"/{self.intent}" + json.dumps({SUBJECT_ENTITY: self.subject}, separators=(",", ":"))
        return f"/{self.intent}"


@dataclass(frozen=True)
class Content:
    entries: Mapping[str, Entry]
    messages: Mapping[str, Localized]
    menu: Tuple[str, ...]
    by_key: Mapping[Tuple[Optional[str], Optional[str]], Entry] = field(default_factory=dict)
    payloads: frozenset = frozenset()
    by_subject: Mapping[str, Entry] = field(default_factory=dict)
    subject_intents: frozenset = frozenset()  # intents with per-subject entries (partners, priorities…)

    def find(self, intent: Optional[str], subject: Optional[str] = None) -> Optional[Entry]:
        """The entry for `intent` about `subject`. A subject belonging to another intent wins only when the
        predicted intent is itself about subjects (partners, priorities…) or has no entry: "Why near the EU
        institutions?" stays a history question, "do you work on AVRR?" as a partner question is about AVRR."""
        exact = self.by_key.get((intent, subject)) if subject else None
        if exact:
            return exact
        general = self.by_key.get((intent, None))
        if subject and (general is None or intent in self.subject_intents or general.defers_to_subject):
            return self.by_subject.get(subject, general)
        return general

    def message(self, key: str, language: str, **values) -> str:
        text = self.messages[key][language]
        return text.format(**values) if values else text

    def buttons(self, entry_ids, language: str) -> List[Dict[str, str]]:
        return [{"title": self.entries[i].title[language], "payload": self.entries[i].payload}
                for i in entry_ids][:MAX_FOLLOWUPS]

    def language_of(self, text: str) -> Optional[str]:
        """The language of a text this content would send (an answer, a message, a title), else None."""
        known, templates = self._languages
        text = normalise(text)
        if text in known:
            return known[text]
        return next((language for pattern, language in templates if pattern.fullmatch(text)), None)

    @cached_property
    def years(self) -> frozenset:
        """Every year the content mentions (a question naming another one asks for a date we do not have)."""
        texts = [t for e in self.entries.values() for localized in (e.answer, e.more or {}) for t in localized.values()]
        return frozenset(YEAR.findall(" ".join(texts)))

    @cached_property
    def places(self) -> frozenset:
        """Every country or region the content names (a question naming another one asks about a place the
        content says nothing about; bot/answers/details.py)."""
        from bot.answers.details import places_named
        texts = [t for e in self.entries.values() for localized in (e.title, e.answer, e.more or {})
                 for t in localized.values()]
        return frozenset(places_named(" ".join(texts)))

    @cached_property
    def distinctive_stems(self) -> Dict[str, Dict[str, FrozenSet[str]]]:
        """Per list entry, the words only each item uses (bot/answers/item_naming.py)."""
        from bot.answers.item_naming import distinctive_stems
        return distinctive_stems(self.entries.values())

    @cached_property
    def _languages(self) -> Tuple[Dict[str, str], List[Tuple["re.Pattern[str]", str]]]:
        known: Dict[str, str] = {}
        templates = []
        texts = [*self.messages.values(), *(e.answer for e in self.entries.values()),
                 *(e.more for e in self.entries.values() if e.more), *(e.title for e in self.entries.values())]
        for localized in texts:
            for language, text in localized.items():
                if PLACEHOLDER.search(text):
                    parts = PLACEHOLDER.split(normalise(text))
                    templates.append((re.compile(".+?".join(re.escape(part) for part in parts)), language))
                else:
                    known.setdefault(normalise(text), language)
        return known, templates


# ---------------------------------------------------------------------------------------------- loading


def _read_yaml(path: Path):
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError(path.name, f"not valid UTF-8 (byte {exc.start})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ContentError(path.name, f"malformed YAML{where}: {getattr(exc, 'problem', exc)}") from None


def _text(raw: dict, key: str, file: str, entry: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ContentError(file, "must be a non-empty string", entry, key)
    for link in LINK.findall(value):
        target = link[0] or link[1]
        if urlsplit(target.strip()).scheme.lower() not in LINK_SCHEMES:
            raise ContentError(file, f"links must be {', '.join(LINK_SCHEMES)}: {target[:60]!r}", entry, key)
    return value.strip()


def _optional_text(raw: dict, key: str, file: str, entry: str) -> Optional[str]:
    return None if raw.get(key) is None else _text(raw, key, file, entry)


def _localized(raw: dict, key: str, file: str, entry: str) -> Dict[str, str]:
    """A text in every language, with the translations checked against the English."""
    value = raw.get(key)
    if not isinstance(value, dict):
        raise ContentError(file, f"must give the text in each language: {', '.join(LANGUAGES)}", entry, key)
    unknown = set(value) - set(LANGUAGES)
    if unknown:
        raise ContentError(file, f"unknown language(s) {sorted(unknown)}; expected {', '.join(LANGUAGES)}", entry, key)
    texts = {language: _text(value, language, file, entry) if language in value else None for language in LANGUAGES}
    missing = [language for language, text in texts.items() if text is None]
    if missing:
        raise ContentError(file, f"the translation is missing: {', '.join(missing)}", entry, key)
    checked = {language: text for language, text in texts.items() if text is not None}
    original = checked[DEFAULT_LANGUAGE]
    for language, translation in checked.items():
        if language != DEFAULT_LANGUAGE:
            problem = translation_problem(original, translation)
            if problem:
                raise ContentError(file, f"the {language} translation {problem}", entry, key)
    return checked


def _optional_localized(raw: dict, key: str, file: str, entry: str) -> Optional[Dict[str, str]]:
    return None if raw.get(key) is None else _localized(raw, key, file, entry)


def translation_problem(original: str, translation: str) -> Optional[str]:
    """What a machine can see is wrong with a translation: other numbers or dates, an acronym left out, a
    different number of bold phrases or list items, a placeholder missing. None when it sees nothing."""
    numbers = sorted(NUMBER.findall(original))
    if numbers != sorted(NUMBER.findall(translation)):
        return f"has other numbers than the original ({numbers})"
    for acronym in set(ACRONYM.findall(original)):
        forms = (acronym, *ACRONYM_TRANSLATIONS.get(acronym, ()))
        if not any(form in translation for form in forms):
            return f"leaves out {acronym!r} (expected one of {list(forms)})"
    if original.count("**") != translation.count("**"):
        return "has another number of bold phrases (**...**)"
    if len(LIST_ITEM.findall(original)) != len(LIST_ITEM.findall(translation)):
        return "has another number of list items"
    for placeholder in PLACEHOLDER.findall(original):
        if placeholder not in translation:
            return f"lacks the placeholder {placeholder}"
    return None


def _id_list(raw: dict, key: str, file: str, entry: str) -> Tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ContentError(file, "must be a list of entry ids", entry, key)
    return tuple(value)


def _parse_entry(raw, file: str, index: int, seed: str) -> Entry:
    if not isinstance(raw, dict):
        raise ContentError(file, f"entry #{index + 1} must be a mapping")
    entry_id = raw.get("id")
    if not isinstance(entry_id, str) or not ID_PATTERN.match(entry_id):
        raise ContentError(file, "missing or invalid (lower_snake_case expected)", f"#{index + 1}", "id")
    unknown = set(raw) - {"id", "title", "answer", "source", "intent", "subject", "followups", "more", "items",
                            "item_words", "countable", "defers_to_subject"}
    if unknown:
        raise ContentError(file, f"unknown field(s) {sorted(unknown)}", entry_id)
    sources = raw.get("source")
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s.strip() for s in sources):
        raise ContentError(file, "must list the seed sentence(s) the answer rests on", entry_id, "source")
    for quote in sources:
        if normalise(quote) not in seed:
            raise ContentError(file, f"not found verbatim in the seed text: {quote[:80]!r}", entry_id, "source")
    intent = _optional_text(raw, "intent", file, entry_id)
    subject = _optional_text(raw, "subject", file, entry_id)
    if subject and not intent:
        raise ContentError(file, "a subject needs an intent", entry_id, "subject")
    followups = _id_list(raw, "followups", file, entry_id)
    if len(followups) > MAX_FOLLOWUPS:
        raise ContentError(file, f"at most {MAX_FOLLOWUPS} follow-ups (buttons) allowed", entry_id, "followups")
    answer = _localized(raw, "answer", file, entry_id)
    items = _id_list(raw, "items", file, entry_id)
    listed = len(LIST_ITEM.findall(answer[DEFAULT_LANGUAGE]))
    if items and len(items) != listed:
        raise ContentError(file, f"names {len(items)} items but the answer lists {listed}", entry_id, "items")
    item_words = _optional_text(raw, "item_words", file, entry_id)
    if item_words and not items:
        raise ContentError(file, "only an entry with items can name them", entry_id, "item_words")
    try:
        item_pattern = re.compile(rf"\b(?:{item_words})", re.I) if item_words else None
    except re.error as exc:
        raise ContentError(file, f"not a valid regular expression: {exc}", entry_id, "item_words") from None
    countable = raw.get("countable", False)
    if not isinstance(countable, bool) or (countable and not items):
        raise ContentError(file, "must be true or false, and true only with items", entry_id, "countable")
    defers = raw.get("defers_to_subject", False)
    if not isinstance(defers, bool):
        raise ContentError(file, "must be true or false", entry_id, "defers_to_subject")
    return Entry(
        id=entry_id, file=file, intent=intent, subject=subject, followups=followups, items=items,
        item_words=item_pattern, countable=countable, defers_to_subject=defers,
        title=_localized(raw, "title", file, entry_id), answer=answer,
        more=_optional_localized(raw, "more", file, entry_id),
        source=tuple(normalise(s) for s in sources),
    )


def _parse_messages(data, file: str) -> Tuple[Dict[str, Dict[str, str]], Tuple[str, ...]]:
    if not isinstance(data, dict) or not isinstance(data.get("messages"), dict):
        raise ContentError(file, "must contain a 'messages' mapping")
    messages = {}
    for key, placeholders in REQUIRED_MESSAGES.items():
        texts = _localized(data["messages"], key, file, f"messages.{key}")
        missing = [p for p in placeholders if p not in texts[DEFAULT_LANGUAGE]]
        if missing:
            raise ContentError(file, f"must contain the placeholder(s) {missing}", f"messages.{key}")
        messages[key] = texts
    menu = data.get("menu")
    if not isinstance(menu, list) or not menu or not all(isinstance(m, str) for m in menu):
        raise ContentError(file, "must be a non-empty list of entry ids", "menu")
    return messages, tuple(menu)


def load_content(directory: Path = CONTENT_DIR) -> Content:
    directory = Path(directory)
    seed_path = directory / SEED_FILE
    try:
        seed = normalise(seed_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError(SEED_FILE, f"cannot read the seed text: {exc}") from None
    messages, menu = _parse_messages(_read_yaml(directory / MESSAGES_FILE), MESSAGES_FILE)

    entries: Dict[str, Entry] = {}
    by_key: Dict[Tuple[Optional[str], Optional[str]], Entry] = {}
    subjects: Dict[str, Entry] = {}
    for path in sorted(directory.glob("*.yml")):
        if path.name == MESSAGES_FILE:
            continue
        data = _read_yaml(path)
        if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
            raise ContentError(path.name, "must contain an 'entries' list")
        for index, raw in enumerate(data["entries"]):
            entry = _parse_entry(raw, path.name, index, seed)
            if entry.id in entries:
                raise ContentError(path.name, f"duplicate id (also in {entries[entry.id].file})", entry.id, "id")
            if entry.intent:
                key = (entry.intent, entry.subject)
                if key in by_key:
                    raise ContentError(path.name, f"intent/subject {key} already answered by '{by_key[key].id}'",
                                       entry.id, "subject" if entry.subject else "intent")
                by_key[key] = entry
            if entry.subject:
                if entry.subject in subjects:
                    raise ContentError(path.name, f"subject also used by '{subjects[entry.subject].id}'",
                                       entry.id, "subject")
                subjects[entry.subject] = entry
            entries[entry.id] = entry
    if not entries:
        raise ContentError(directory.name, "no content entries found")

    for entry in entries.values():
        for ref in entry.followups:
            if ref not in entries:
                raise ContentError(entry.file, f"refers to unknown entry '{ref}'", entry.id, "followups")
            if not entries[ref].intent:
                raise ContentError(entry.file, f"'{ref}' has no intent, so no button can ask it", entry.id, "followups")
        for ref in entry.items:
            if ref not in entries or not entries[ref].intent:
                raise ContentError(entry.file, f"refers to unknown or unreachable entry '{ref}'", entry.id, "items")
    for ref in menu:
        if ref not in entries or not entries[ref].intent:
            raise ContentError(MESSAGES_FILE, f"refers to unknown or unreachable entry '{ref}'", "menu")
    return Content(entries=entries, messages=messages, menu=menu, by_key=by_key, by_subject=subjects,
                   payloads=frozenset(e.payload for e in entries.values() if e.intent),
                   subject_intents=frozenset(e.intent for e in subjects.values()))


# ---------------------------------------------------------------------------------------------- hot reload


class ContentStore:
    """Serves the last good `Content`, reloading when a file in the directory changes."""

    def __init__(self, directory: Path = CONTENT_DIR, check_interval: float = 1.0):
        self.directory = Path(directory)
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._signature = self._current_signature()
        self._content = load_content(self.directory)  # fail fast at start-up
        self._next_check = time.monotonic() + check_interval

    def _current_signature(self):
        try:
            return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                                for p in self.directory.iterdir() if p.suffix in (".yml", ".txt")))
        except OSError as exc:
            log.error("content store: cannot list %s: %s", self.directory, exc)
            return self._signature

    def get(self) -> Content:
        now = time.monotonic()
        if now < self._next_check:
            return self._content
        with self._lock:
            if now < self._next_check:
                return self._content
            self._next_check = now + self.check_interval
            signature = self._current_signature()
            if signature != self._signature:
                self._signature = signature  # a bad edit is reported once, not on every message
                try:
                    self._content = load_content(self.directory)
                    log.info("content store: reloaded %d entries from %s", len(self._content.entries),
                             self.directory)
                except ContentError as exc:
                    log.error("content store: rejected edit, still serving the last good content: %s", exc)
            return self._content


@lru_cache(maxsize=None)
def shared_store(directory: Path = CONTENT_DIR) -> ContentStore:
    """One store per content directory in a process (the action server's action, the channels' screening)."""
    return ContentStore(Path(directory))

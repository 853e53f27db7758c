"""Which item of a list a question names by a word that only that item's text uses.

"What about solidarity with host countries?", "et la résilience des communautés ?": the NLU rightly places
them on the priorities, but the subject lookup (data/nlu/*/synonyms.yml) knows "protection space", not every
word of the item. The item's own text does: "…demonstrates the EU's solidarity with affected populations".
Words are compared by their first STEM letters, accents and case folded, so "solidarity" meets "solidarité"
and "resilient" meets "résilience" (the content is English and French). A word names an item only when no
other item of its list uses it and at most MAX_ENTRIES entries of the whole content do, so that "migration"
or "Europe" never pick one; a long message (more than SHORT stems) needs two of an item's words, since it names
many words in passing. The words come from the content itself: new items are named without new code.

Written by hand: a few lines over our own content; a stemmer per language would split "solidarity" from
"solidarité", which the prefix deliberately keeps together.
"""
from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Dict, FrozenSet, Iterable, Optional, Set

if TYPE_CHECKING:
    from bot.answers.content_store import Content, Entry

STEM = 5
MAX_ENTRIES = 2  # the item and the overview that lists it; a word in more entries is general vocabulary
# A long message names many words in passing ("We're preparing a proposal…" met "preparedness" in the crisis
# result): beyond SHORT stems, an item needs two of its words.
SHORT = 10
WORD = re.compile(rf"[a-z]{{{STEM},}}")


def fold(text: str) -> str:
    """Lower case, accents removed: "Résilience" -> "resilience"."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def _spacy_stop_words(language: str) -> Set[str]:
    """spaCy's stop-word list of `language`, read from its file without importing spaCy: `import spacy.lang.fr`
    took 11 s of the action server's 12 s start-up (its tokenizer exceptions), for two word lists."""
    spacy = importlib.util.find_spec("spacy")  # finds the installed package; does not import it
    if spacy is None or not spacy.origin:
        raise ImportError("spaCy is not installed: run `make setup`")
    path = Path(spacy.origin).parent / "lang" / language / "stop_words.py"
    spec = importlib.util.spec_from_file_location(f"_stop_words_{language}", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ImportError(f"{path}: spaCy's stop words are missing: run `make setup`")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # a module holding one set literal, STOP_WORDS
    return set(module.STOP_WORDS)


# spaCy's English and French stop words ("every", "should", "lorsque", "toutes"): they name nothing.
STOP_STEMS = frozenset(fold(word)[:STEM] for language in ("en", "fr") for word in _spacy_stop_words(language)
                       if len(word) >= STEM)


def stems(text: str) -> FrozenSet[str]:
    """The text's words of at least STEM letters but stop words, cut to STEM letters, accents and case folded."""
    return frozenset(word[:STEM] for word in WORD.findall(fold(text))) - STOP_STEMS


def _text(entry: "Entry") -> str:
    return " ".join(t for localized in (entry.title, entry.answer, entry.more or {}) for t in localized.values())


def distinctive_stems(entries: Iterable["Entry"]) -> Dict[str, Dict[str, FrozenSet[str]]]:
    """For each list entry, each item's distinctive stems (see the module's docstring)."""
    entries = list(entries)
    by_id = {e.id: e for e in entries}
    frequency = Counter(stem for entry in entries for stem in stems(_text(entry)))
    lists: Dict[str, Dict[str, FrozenSet[str]]] = {}
    for listed in (e for e in entries if e.items):
        own = {item: stems(_text(by_id[item])) for item in listed.items if item in by_id}
        shared = Counter(stem for words in own.values() for stem in words)
        lists[listed.id] = {item: frozenset(s for s in words if shared[s] == 1 and frequency[s] <= MAX_ENTRIES)
                            for item, words in own.items()}
    return lists


# "which sectors do you partner with?", "quels secteurs ?": a plural after "which" asks for the list, and names
# no item by that word (the private sector's "sector").
LIST_ASKED = re.compile(r"\b(?:which|what|quels|quelles)\s+(?:(?:kinds?|types?|sorts?)\s+of\s+|"
                        r"(?:types?|sortes?|genres?)\s+(?:de\s+|d['’]))?(?!(?:does|goes|was|has|is)\b)([^\W\d_]{3,}[sx])\b",
                        re.I)


def item_named_by_words(content: "Content", listed: "Entry", text: str) -> Optional["Entry"]:
    """The item of `listed` that `text` names by the most distinctive words (two in a long message), when exactly
    one does."""
    words = stems(text or "") - stems(" ".join(LIST_ASKED.findall(text or "")))
    hits = Counter({item: len(words & own) for item, own in content.distinctive_stems.get(listed.id, {}).items()})
    ranked = hits.most_common(2)
    needed = 1 if len(words) <= SHORT else 2
    if not ranked or ranked[0][1] < needed or (len(ranked) > 1 and ranked[1][1] == ranked[0][1]):
        return None
    return content.entries[ranked[0][0]]

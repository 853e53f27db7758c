"""Which item of a list a question names by a word that only that item's text uses.

"What about solidarity with host countries?", "et la résilience des communautés ?": the NLU rightly places
them on the priorities, but the subject lookup (data/nlu/*/synonyms.yml) knows "protection space", not every
word of the item. The item's own text does: "…demonstrates the EU's solidarity with affected populations".
Words are compared by their first STEM letters, accents and case folded, so "solidarity" meets "solidarité"
and "resilient" meets "résilience" (the content is English and French). A word names an item only when no
other item of its list uses it and at most MAX_ENTRIES entries of the whole content do, so that "migration"
or "Europe" never pick one. The words come from the content itself: new items are named without new code.

Written by hand: a few lines over our own content; a stemmer per language would split "solidarity" from
"solidarité", which the prefix deliberately keeps together.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import TYPE_CHECKING, Dict, FrozenSet, Iterable, Optional

from spacy.lang.en.stop_words import STOP_WORDS as EN_STOP_WORDS
from spacy.lang.fr.stop_words import STOP_WORDS as FR_STOP_WORDS

if TYPE_CHECKING:
    from bot.answers.content_store import Content, Entry

STEM = 5
MAX_ENTRIES = 2  # the item and the overview that lists it; a word in more entries is general vocabulary
WORD = re.compile(rf"[a-z]{{{STEM},}}")


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


# spaCy's English and French stop words ("every", "should", "lorsque", "toutes"): they name nothing.
STOP_STEMS = frozenset(_fold(word)[:STEM] for word in EN_STOP_WORDS | FR_STOP_WORDS if len(word) >= STEM)


def stems(text: str) -> FrozenSet[str]:
    """The text's words of at least STEM letters but stop words, cut to STEM letters, accents and case folded."""
    return frozenset(word[:STEM] for word in WORD.findall(_fold(text))) - STOP_STEMS


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


def item_named_by_words(content: "Content", listed: "Entry", text: str) -> Optional["Entry"]:
    """The item of `listed` that `text` names by the most distinctive words, when exactly one does."""
    words = stems(text or "")
    hits = Counter({item: len(words & own) for item, own in content.distinctive_stems.get(listed.id, {}).items()})
    ranked = hits.most_common(2)
    if not ranked or ranked[0][1] == 0 or (len(ranked) > 1 and ranked[1][1] == ranked[0][1]):
        return None
    return content.entries[ranked[0][0]]

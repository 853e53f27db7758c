"""Which item of the list just shown a visitor means: "the fourth one", "number 2", "the last", "la deuxième".

The overview answers (partners, priorities, projects) are lists, and their content entries name the entry
of each item in order (`items`). After such an answer, a mention of a position picks that item, the way
Rasa's knowledge-base actions resolve "the first one" against the objects they just listed. Written here
rather than with Rasa's knowledge base: ours is the content store, and positions are all we need to resolve.
"""
from __future__ import annotations

import re
from typing import List, Optional

LAST = -1
SECOND_LAST = -2
SECOND_LAST_WORDS = re.compile(r"\b(second[- ]to[- ]last|next[- ]to[- ]last|penultimate|one before (the )?last|"
                               r"avant[- ]derni[eè]re?)\b", re.I)
ORDINAL_WORDS = {
    # English
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "last": LAST, "final": LAST,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    # French (with and without accents)
    "premier": 1, "premiere": 1, "première": 1, "deuxieme": 2, "deuxième": 2, "seconde": 2,
    "troisieme": 3, "troisième": 3, "quatrieme": 4, "quatrième": 4, "cinquieme": 5, "cinquième": 5,
    "sixieme": 6, "sixième": 6, "septieme": 7, "septième": 7, "huitieme": 8, "huitième": 8,
    "neuvieme": 9, "neuvième": 9, "dixieme": 10, "dixième": 10, "onzieme": 11, "onzième": 11,
    "douzieme": 12, "douzième": 12, "dernier": LAST, "derniere": LAST, "dernière": LAST,
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "neuf": 9, "dix": 10,
}
# Cardinals ("one", "deux") count only after a word that makes them a position: "number two", "le point 3".
CARDINALS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
             "un", "une", "deux", "trois", "quatre", "cinq", "sept", "huit", "neuf", "dix"}
POSITION_WORDS = r"(?:number|no\.?|n°|#|item|point|option|numero|numéro|num)"
# A position word on its own, then a number ("no.3", "#2") or a word after a space: not inside "revenons", and not
# "not", "none" or "items", which begin with one.
NUMBERED = re.compile(rf"(?<!\w)(?:{POSITION_WORDS})(?:\s*(\d{{1,2}})\b|\s+([a-zéè]+)\b)", re.I)
SUFFIXED = re.compile(r"\b(\d{1,2})\s*(?:st|nd|rd|th|er|re|ère|e|ème|eme)\b", re.I)
BARE_NUMBER = re.compile(r"(?<![\w.,])(\d{1,2})(?![\w.,])")  # not part of "2011", "1.5", "2,000"
WORD = re.compile(r"[a-zàâçéèêëîïôûùüÿœ]+", re.I)
MAX_WORDS = 12  # a mention is a short reply; a long question naming "the first" is about something else


def mentioned_position(text: str) -> Optional[int]:
    """The 1-based position the text points at (LAST for "the last one"), or None."""
    words = WORD.findall(text.lower())
    if not text.strip() or len(text.split()) > MAX_WORDS:
        return None
    if SECOND_LAST_WORDS.search(text):
        return SECOND_LAST
    for numbered in NUMBERED.finditer(text):
        value = (numbered.group(1) or numbered.group(2)).lower()
        position = int(value) if value.isdigit() else ORDINAL_WORDS.get(value)
        if position is not None:
            return position
    suffixed = SUFFIXED.search(text)
    if suffixed:
        return int(suffixed.group(1))
    digits = BARE_NUMBER.findall(text)
    if len(digits) == 1 and bare(BARE_NUMBER.sub(" ", text)):  # "3", "et le 7 ?", "the 2 please"
        return int(digits[0])
    for word in words:
        if word in ORDINAL_WORDS and word not in CARDINALS:
            return ORDINAL_WORDS[word]
    return None


# Several items at either end of the list: "the last two", "the first 3", "les deux derniers", "les 3 premières".
COUNTS = {"two": 2, "three": 3, "four": 4, "deux": 2, "trois": 3, "quatre": 4, "2": 2, "3": 3, "4": 4}
END_RANGE = re.compile(r"\b(?:(first|last|premi[eè]re?s|derni[eè]re?s)\s+(two|three|four|[234])|"
                       r"(deux|trois|quatre|[234])\s+(premi[eè]re?s|derni[eè]re?s))\b", re.I)


def mentioned_range(text: str) -> Optional[List[int]]:
    """The 1-based positions (negative from the end) a text like "the last two" points at, or None."""
    found = END_RANGE.search(text) if text.strip() and len(text.split()) <= MAX_WORDS else None
    if found is None or not bare(END_RANGE.sub(" ", text)):
        return None  # "in the last two years?", "the budget of the first two?": not only a mention
    end = (found.group(1) or found.group(4)).lower()
    count = COUNTS[(found.group(2) or found.group(3)).lower()]
    return list(range(1, count + 1)) if end.startswith("p") or end == "first" else list(range(-count, 0))


def pick(items, position: Optional[int]):
    """The item at `position` (1-based, or LAST / SECOND_LAST), or None when there is no such item."""
    if position is None or not items:
        return None
    if position < 0:
        return items[position] if -position <= len(items) else None
    return items[position - 1] if 1 <= position <= len(items) else None


# Words that carry no topic in a reply like "and the fourth one, please?" / "et le dernier ?".
FILLER = {"the", "one", "ones", "please", "and", "what", "about", "tell", "me", "more", "on", "is", "that", "ok",
          "then", "so", "which", "le", "la", "les", "l", "et", "un", "une", "svp", "stp", "merci", "alors", "quel",
          "quelle", "est", "ce", "sur", "plus", "dites", "moi", "en", "m", "dis", "de", "du", "des",
          "item", "number", "no", "numero", "numéro", "point", "option", "pls", "plz", "thx", "thanks",
          # "what's the second one about?", "le quatrième, c'est quoi ?", "explique-moi le cinquième point"
          "s", "c", "quoi", "explain", "detail", "details", "can", "you", "it", "was", "it's", "what's",
          "explique", "expliquez", "expliquer", "détaille", "détaillez", "détailler", "detailler", "peux", "pouvez",
          "tu", "vous", "parle", "parlez", "concerne", "ça", "ca", "cela", "exactly", "exactement", "again",
          # "go back to number 3", "back to the second one", "revenons au troisième"
          "go", "back", "to", "revenons", "reviens", "revenir", "retour", "au", "à",
          # "the last one on your list", "le dernier de la liste", "les deux derniers"
          "list", "liste", "of", "in", "your", "this", "votre", "ta", "cette", "those", "ceux", "celles",
          "premiers", "premières", "premieres", "derniers", "dernières", "dernieres", "are", "sont",
          "just", "only", "juste", "seulement"}


def bare(text: str) -> bool:
    """True when the text is only a position and filler words ("the fourth one?", "et le 3e ?")."""
    position_words = set(ORDINAL_WORDS) | FILLER
    words = WORD.findall(SUFFIXED.sub(" ", NUMBERED.sub(" ", SECOND_LAST_WORDS.sub(" ", text.lower()))))
    return all(word in position_words for word in words)

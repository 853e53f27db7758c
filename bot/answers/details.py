"""Which kind of detail a question asks for, and whether an entry's text has it.

"When was EURCAP launched?" is about EURCAP, and the NLU rightly finds the EURCAP entry; but that entry says
what EURCAP is, not when it started. Answering with it anyway would look like an answer to the question. So
before answering, the dialogue checks the kind of detail asked for (a date, a count, an amount, names, a
person) against the entry's own text: a date needs a year or a month in it, a count a number or a whole
list, names a list, and no entry gives an amount, names a person or gives an address. When the detail is
missing, the visitor is told so and offered what the entry does say (bot/answers/dialogue.py `no_detail`),
never a guess. The checks read the content, so content that gains dates or figures is answered without code
changes.

Question words are matched in English and French (the languages we answer in) and the other EU languages
the NLU understands; a kind not recognised simply means no check.
"""
from __future__ import annotations

import re
from enum import Enum
from typing import Collection, Optional

from bot.answers.content_store import DEFAULT_LANGUAGE, YEAR, Entry


class Detail(str, Enum):
    WHEN = "when"
    COUNT = "count"
    AMOUNT = "amount"
    NAMES = "names"
    PERSON = "person"
    ADDRESS = "address"


ASKED = {
    # "how much money / funding / budget", "what budget", "combien d'argent", "quel budget"
    Detail.AMOUNT: re.compile(
        r"\b(how much (\w+ ){0,3}(money|funding|funds?)|how much does \w+( \w+)? (cost|spend|get|receive|invest)|"
        r"budget|spend(s|ing)?|"
        r"euros?|combien (d'argent|de fonds|co[uû]te|d[ée]pense)|montant|financement total|"
        r"wie ?viel (geld|kostet)|hoeveel (geld|kost)|cu[aá]nto (dinero|cuesta)|quanto (denaro|costa|custa))\b|€",
        re.I),
    # "who leads the Election Support Unit?", "qui dirige le bureau ?"
    Detail.PERSON: re.compile(
        r"\b(who (leads|heads|runs|manages|directs|chairs|is (in charge|responsible))|"
        r"who (is|was|will be) the (first |current |new |former |next )?(chief|head|director|leader|boss|president|"
        r"representative|spokesperson)|"
        r"qui (était|etait|est|sera) (le|la) (premier |première |premiere |nouveau |nouvelle |actuel |actuelle )?"
        r"(chef|cheffe|directeur|directrice|responsable|président|présidente|porte-parole)|"
        r"(director|head|chief|president|spokesperson|directeur|directrice|chef|cheffe|président|présidente)\b.*"
        r"\b(called|named|s['’]appelle|nom)|names? of the (director|head|chief|president)|"
        r"nom d[eu] (la |l['’])?(directeur|directrice|chef|cheffe|président|présidente)|"
        r"qui (dirige|g[èe]re|pr[ée]side|est (à|a) la t[êe]te|"
        r"est (le|la) (responsable|directeur|directrice|chef|cheffe)))\b",
        re.I),
    # "what's the office's address?", "c'est quoi l'adresse ?", "phone number?"
    Detail.ADDRESS: re.compile(
        r"(\b(the|your|its|their|postal|street|office|mailing|physical|an?)|['’]s) address(es)?\b|"
        r"\baddress( of\b|\W*$)|\b(adresse|adres|postal|street|rue|phone|telephone|t[ée]l[ée]phone|gsm|e-?mail|"
        r"courriel|opening hours|office hours|horaires|heures d['’]ouverture|located|situ[ée])\b", re.I),
    # "when" opens the question or asks about an event ("when was…"), not "what do you do when it comes to…"
    Detail.WHEN: re.compile(
        r"(^\W*((and|so|but|ok|then|et|alors|mais)\W+)*(when|quand)\b|"
        r"\bwhen (was|were|did|does|do|is|are|will|has|had|exactly|precisely)\b|"
        r"\bquand (a|ont|est|était|etait|fut|le|la|l['’]|les|avez|exactement|précisément)\b|\bquand\s*\?|"
        r"\b(which|what) month|quel mois|most recent(ly)?|latest|newest|le plus r[ée]cemment|derni[èe]rement|"
        r"\b(what year|which year|since when|how long ago|how old|what date|which date|quelle ann[ée]e|"
        r"depuis quand|quelle date|wann|seit wann|wanneer|sinds wanneer|cu[aá]ndo|desde cu[aá]ndo|quando|"
        r"da quando|desde quando|kiedy|od kiedy)\b)",
        re.I),
    Detail.COUNT: re.compile(
        r"\b(how many|number of|combien|nombre de|wie ?viele|hoeveel|cu[aá]nt[oa]s|quant[ie]|quant[oa]s|ile)\b", re.I),
    # "which NGOs exactly", "name the companies", "list all member states", "quels syndicats précisément";
    # not "what exactly does the office do?"
    Detail.NAMES: re.compile(
        r"(^\W*(please\W+)?list\b|\b(can|could|would|will) you (please )?list\b|\blist (all|every|them|those)\b|"
        r"\b(give|send|show) me (a|the)( full| complete)? list\b|\b(full|complete) list\b|"
        r"\bliste (compl[èe]te|de tous)\b|"
        r"\b(pouvez-vous|peux-tu|pourriez-vous) (me )?lister\b|\blistez\b)|"
        r"\b((which|what|in which|in what) countries|(dans )?quels pays|by name|names of|"
        r"name (the|some|any|a few|all)|which (specific|particular)|"
        r"les noms|citez|nommez|nomm[ée]ment)\b|"
        r"\b(which|who|quel(le)?s?|lesquel(le)?s|qui|welche|wer|welke|cu[aá]les|quali|quais|kt[oó]re)\b.*"
        r"\b(exactly|specifically|precisely|exactement|pr[ée]cis[ée]ment|genau|precies|exactamente|esattamente|"
        r"exatamente|dok[lł]adnie)\b", re.I),
}
# Checked in this order: "how many euros" is an amount, "since when, exactly" a date.
ORDER = (Detail.AMOUNT, Detail.PERSON, Detail.ADDRESS, Detail.WHEN, Detail.COUNT, Detail.NAMES)
YEAR_OR_MONTH = re.compile(r"\b(1[89]\d\d|20\d\d|january|february|march|april|june|july|august|september|"
                           r"october|november|december)\b", re.I)
NUMBER = re.compile(r"\b\d+\b")


def asked(text: str) -> Optional[Detail]:
    """The kind of detail the question asks for, if it is one we can check."""
    return next((kind for kind in ORDER if ASKED[kind].search(text or "")), None)


def has(entry: Entry, kind: Detail) -> bool:
    """Whether the entry's text (answer and "more", in English) gives that kind of detail."""
    text = entry.answer[DEFAULT_LANGUAGE] + "\n" + (entry.more or {}).get(DEFAULT_LANGUAGE, "")
    if kind is Detail.WHEN:
        return bool(YEAR_OR_MONTH.search(text))
    if kind is Detail.COUNT:
        return entry.countable or bool(NUMBER.search(text))  # "such as…" examples are not a count
    if kind is Detail.NAMES:
        return bool(entry.items)
    return False  # amounts, people, addresses: the content has no money figures, staff names or contact details


def missing(entry: Entry, text: str, known_years: Collection[str] = ()) -> Optional[Detail]:
    """The kind of detail the question asks for that the entry does not give, or None. A year the question
    names that the content never mentions ("which elections in 2023?") is a date we do not have."""
    if any(year not in known_years for year in YEAR.findall(text or "")):
        return Detail.WHEN
    kind = asked(text)
    return kind if kind is not None and not has(entry, kind) else None

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

import difflib
import re
from enum import Enum
from typing import Collection, List, Optional, Set

from babel import Locale

from bot.answers.content_store import DEFAULT_LANGUAGE, YEAR, Entry
from bot.answers.item_naming import fold


class Detail(str, Enum):
    PLACE = "place"  # a country or region the content never names
    WHEN = "when"
    COUNT = "count"
    AMOUNT = "amount"
    NAMES = "names"
    PERSON = "person"
    ADDRESS = "address"
    PROCEDURE = "procedure"  # how to apply, join, sign up


ASKED = {
    # "how much money / funding / budget", "what budget", "combien d'argent", "quel budget"
    Detail.AMOUNT: re.compile(
        r"\b(how much (\w+ ){0,3}(money|funding|funds?)|how much does \w+( \w+)? (cost|spend|get|receive|invest)|"
        r"budget|spend(s|ing)?|"
        r"euros?|combien (d'argent|de fonds|co[uû]te|d[ée]pense)|montant|financement total|"
        r"wie ?viel (geld|kostet)|hoeveel (geld|kost)|cu[aá]nto (dinero|cuesta)|quanto (denaro|costa|custa)|"
        # who pays, or whether they would pay us: "who funds it?", "can IOM fund our project?", "qui finance ?",
        # "vous financez des associations ?" (not "help with EU-funded projects", which the office gives)
        r"who (funds|finances|pays for|sponsors|bankrolls)|(funded|financed|paid for) by whom|"
        r"where does (the |its |their )?(money|funding) come from|"
        r"(do|does|can|could|will|would) (you|iom|the office|it|they|your office) (\w+ )?"
        r"(fund|finance|sponsor|subsidi[sz]e|pay for)|"
        r"qui (finance|financent|paie|paye|subventionne)|financ[ée]e?s? par qui|"
        r"d['’]o[uù] vient (l['’]argent|le financement)|(vous|l['’]oim|le bureau|il|elle|ils) (nous |les |la |le )?"
        r"(financez|finance|financent|subventionnez|subventionne))\b|€",
        re.I),
    # "who leads the Election Support Unit?", "qui dirige le bureau ?"
    Detail.PERSON: re.compile(
        r"\b(who (leads|heads|runs|manages|directs|chairs|is (in charge|responsible))|"
        r"who (do|should|can) (i|we) (ping|contact|write to|e-?mail|call)|"
        r"(contact|focal) (person|point)|personne (de contact|à contacter)|"
        r"who (is|was|will be) the (first |current |new |former |next )?(chief|head|director|leader|boss|president|"
        r"representative|spokesperson)|"
        r"qui (était|etait|est|sera) (le|la) (premier |première |premiere |nouveau |nouvelle |actuel |actuelle )?"
        r"(chef|cheffe|directeur|directrice|responsable|président|présidente|porte-parole)|"
        r"(director|head|chief|president|spokesperson|directeur|directrice|chef|cheffe|président|présidente)\b.*"
        r"\b(called|named|s['’]appelle|nom)|names? of the (director|head|chief|president)|"
        r"nom d[eu] (la |l['’])?(directeur|directrice|chef|cheffe|président|présidente)|"
        r"(c['’]est qui|qui est) (le|la) (boss|patron|patronne|chef|cheffe|directeur|directrice|responsable)|"
        r"qui (dirige|g[èe]re|pr[ée]side|est (à|a) la t[êe]te|"
        r"est (le|la) (responsable|directeur|directrice|chef|cheffe)))\b",
        re.I),
    # "what's the office's address?", "c'est quoi l'adresse ?", "phone number?"
    Detail.ADDRESS: re.compile(
        r"(\b(the|your|its|their|postal|street|office|mailing|physical|an?)|['’]s) address(es)?\b|"
        r"\baddress( of\b|\W*$)|\b(adresse|adres|postal|street|rue|phone|telephone|t[ée]l[ée]phone|gsm|e-?mail|"
        r"courriel|opening hours|office hours|horaires|heures d['’]ouverture|located|situ[ée])\b|"
        r"\bwhere (exactly |precisely )?(is|are) (the|your|its) (office|offices|building|premises)\b|"
        r"\bo[uù] (se trouve|est|sont) (exactement |pr[ée]cis[ée]ment )?(le|votre|vos|les) (bureau|locaux)\b", re.I),
    # "How can my NGO become a partner?", "is there an application form?", "un appel à partenariats ?": the
    # content describes; it gives no procedure, form or call.
    Detail.PROCEDURE: re.compile(
        r"\b(how (can|could|do|would|should|may) (i|we|my \w+|our \w+|one|an? \w+) (become|apply|join|sign up|"
        r"register|submit|get involved|partner|qualify)|application (form|process|procedure)|apply for|"
        r"call for (proposals|partners|applications)|formulaire|postuler|candidature|"
        r"appels? (à|a) (partenariats?|propositions|projets|candidatures)|comment (devenir|postuler|s['’]inscrire|"
        r"faire une demande|candidater)|comment (je|on|nous) (peux|peut|pouvons|fais|fait|faisons) pour "
        r"(devenir|postuler|rejoindre|adh[ée]rer|s['’]inscrire))\b", re.I),
    # "when" opens the question or asks about an event ("when was…"), not "what do you do when it comes to…"
    Detail.WHEN: re.compile(
        r"(^\W*((and|so|but|ok|then|et|alors|mais)\W+)*(when|quand)\b|"
        r"\bwhen (was|were|did|does|do|is|are|will|has|had|exactly|precisely)\b|"
        r"\bquand (a|ont|est|était|etait|fut|le|la|l['’]|les|avez|exactement|précisément)\b|\bquand\s*\?|"
        r"\b(when|quand)\W*$|"  # "the lisbon treaty was when", "c'était quand"
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
        r"name (the|some|any|a few|all)|which (specific|particular)|(specific|particular|any) (\w+ )?names|"
        # "quelles entreprises ?", "which universities?": the partners of a type by name
        r"(which|quel(le)?s?) (compan(y|ies)|firms?|business(es)?|ngos?|universit(y|ies)|unions?|entreprises?|"
        r"soci[ée]t[ée]s?|ong|universit[ée]s?|syndicats?)\b|"
        r"les noms|citez|nommez|nomm[ée]ment)\b|"
        # "which of those 175 are EU countries?", "and EU member states among them?": which ones, by name
        # "lesquelles ?", "which ones?" after one partner type: its members by name (an overview lists its items)
        r"^\W*((and|et|so|alors|mais)\W+)?(which ones?|lesquel(le)?s|quels sont-ils|quelles sont-elles)\W*$|"
        r"\b(which|what|quel(le)?s|lesquel(le)?s) (ones? )?(of|d['’]entre|parmi) (those|these|them|the \d+|eux|elles|"
        r"ces|les \d+)\b|\b(among|parmi) (them|those|these|eux|elles|ceux-ci|celles-ci|ces \d+)\b|"
        # "quel est exactement le rôle… ?" asks what, not which: French "quel" before "est/sont" is "what is"
        r"\b(which|who|quel(le)?s?(?! (est|sont|[ée]tait|[ée]taient|serait|seraient)\b)|lesquel(le)?s|qui|welche|wer|"
        r"welke|cu[aá]les|quali|quais|kt[oó]re)\b.*"
        r"\b(exactly|specifically|precisely|exactement|pr[ée]cis[ée]ment|genau|precies|exactamente|esattamente|"
        r"exatamente|dok[lł]adnie)\b", re.I),
}
# Every date the content gives marks a beginning (IOM's 1951, the liaison's 2011, the Lisbon Treaty's 2009):
# a question about another event ("when did IOM join the UN?", "quand la Belgique a-t-elle adhéré ?") asks
# for a date the content does not have, even when the entry has a year.
OTHER_EVENT = re.compile(
    r"\b(join(s|ed|ing)?|bec[oa]me|becoming|sign(s|ed|ing)?|adopt(s|ed)?|ratif\w*|renamed?|mov(e|ed) to|left|"
    r"clos(e|ed)|elected|appointed|admitted|rejoin\w*|adh[ée]r\w*|devenu\w*|devenir|deviennent|sign[ée]\w*|"
    r"renomm\w*|d[ée]m[ée]nag\w*|quitt\w*|ferm[ée]\w*|admis\w*)\b", re.I)
# "What was IOM called at first?", "its former name": the content gives today's names only.
OTHER_NAME = re.compile(r"\b((former|original|old|previous|earlier|first) name|(was|were) (it |they |iom |\w+ )?"
                        r"(called|named|known as)|ancien nom|nom (d['’]origine|initial)|s['’]appelai(t|ent)|"
                        r"anciennement)\b", re.I)
# "The exact day in September 2011": a month is not a day.
DAY = re.compile(r"\b((exact|precise) (day|date)|(which|what) day|quel jour|date (exacte|pr[ée]cise)|"
                 r"jour exact)\b", re.I)
DAY_IN_TEXT = re.compile(r"\b\d{1,2} (january|february|march|april|may|june|july|august|september|october|"
                         r"november|december)\b|\b(january|february|march|april|may|june|july|august|september|"
                         r"october|november|december) \d{1,2}\b", re.I)
# "In which city was IOM founded?", "where was it created?": the content names no city but Brussels.
CITY = re.compile(r"\b((in )?(which|what) (city|town)|(dans )?quelle ville|"
                  r"where (was|is) (it|iom|the organi[sz]ation) (founded|created|born|headquartered)|"
                  r"o[uù] (a [ée]t[ée]|est) (fond[ée]e|cr[ée]{2}e|n[ée]e))\b", re.I)
# An entry that speaks of the whole world ("IOM Offices worldwide") answers a question naming one region.
WORLDWIDE = re.compile(r"\b(worldwide|at the global level|everywhere)\b", re.I)
# Checked in this order: "how many euros" is an amount, "since when, exactly" a date.
ORDER = (Detail.AMOUNT, Detail.PERSON, Detail.ADDRESS, Detail.PROCEDURE, Detail.WHEN, Detail.COUNT, Detail.NAMES)
YEAR_OR_MONTH = re.compile(r"\b(1[89]\d\d|20\d\d|january|february|march|april|june|july|august|september|"
                           r"october|november|december)\b", re.I)
NUMBER = re.compile(r"\b\d+\b")
# Not "workers": "how many workers' organisations…" asks about partners, "migrant workers" about migration.
STAFF = re.compile(r"\b(staff|staffers|employees|employ(s|ed|ing)?|personnel|people (work|working)|effectifs?|"
                   r"salari[ée]s|employ[ée]s|agents|collaborateurs|personnes? (qui )?travaill\w*)\b", re.I)


# "how many member states…", "le nombre de garde-frontières formés", "combien d'États membres": what is counted.
COUNTED = re.compile(r"\b(?:how many\s+|number of\s+|nombre d(?:e\s+|['’])|combien d(?:e\s+|['’]))"
                     r"(?:(?:the|les|des)\s+)?"
                     r"(?:[^\W\d_]{1,4}[-\s])?([^\W\d_]{5,})", re.I)


def _all_text(entry: Entry) -> str:
    """The entry's answer and "more" in every language, folded (bot/answers/item_naming.fold)."""
    return fold(" ".join([*entry.answer.values(), *(entry.more or {}).values()]))


# Counting time is asking how long or since when, which the content's dates answer: "how many years…".
TIME_UNITS = re.compile(r"^(years?|months?|decades?|ann[ée]es?|mois|d[ée]cennies?)$", re.I)


def counts_something_else(entry: Entry, text: str) -> bool:
    """The question counts something the entry never names ("the number of border guards IOM trained" asked
    of IOM, whose numbers count member states and countries): its numbers are not that count. A misspelt
    noun ("memeber states") still names what the entry counts."""
    match = COUNTED.search(text or "")
    if match is None or entry.countable or TIME_UNITS.match(match.group(1)):
        return False
    noun = fold(match.group(1))
    words = set(re.findall(r"[a-z]{4,}", _all_text(entry)))
    return not any(word.startswith(noun[:5]) for word in words) and not difflib.get_close_matches(noun, words, 1, 0.8)


EXACTLY = re.compile(r"\b(exactly|specifically|precisely|exactement|pr[ée]cis[ée]ment|genau|precies|exactamente|"
                     r"esattamente|exatamente|dok[lł]adnie)\b", re.I)
WHICH_NOUN = re.compile(r"\b(?:which|what|quel(?:le)?s?)\s+([^\W\d_]{5,})", re.I)


def names_what_is_asked(entry: Entry, text: str) -> bool:
    """"Which institutions exactly?" of an entry that names "the EU Institutions, Bodies and Agencies": its text
    is the most exact answer there is. Not when it only counts them ("which member states exactly?" of IOM's
    "175 member states") or when no noun is asked about ("who exactly funds IOM?")."""
    match = WHICH_NOUN.search(text or "")
    if match is None:
        return False
    stem = fold(match.group(1))[:5]
    body = _all_text(entry)
    return stem in body and not re.search(r"\d\s+" + re.escape(stem), body)


FUNDER = re.compile(r"\b(who (funds|finances|pays for)|qui (finance|financent|paie|paye))\b", re.I)
FUNDED = re.compile(r"\bEU-funded\b", re.I)


def asked(text: str) -> Optional[Detail]:
    """The kind of detail the question asks for, if it is one we can check."""
    return next((kind for kind in ORDER if ASKED[kind].search(text or "")), None)


def has(entry: Entry, kind: Detail) -> bool:
    """Whether the entry's text (answer and "more", in English) gives that kind of detail."""
    text = _text(entry)
    if kind is Detail.WHEN:
        return bool(YEAR_OR_MONTH.search(text))
    if kind is Detail.COUNT:
        return entry.countable or bool(NUMBER.search(text))  # "such as…" examples are not a count
    if kind is Detail.NAMES:
        return bool(entry.items)
    if kind is Detail.PLACE:
        return bool(WORLDWIDE.search(text))
    return False  # amounts, people, addresses, procedures: the content has no money figures, staff names, contact
    # details or application procedures


def missing(entry: Entry, text: str, known_years: Collection[str] = (),
            known_places: Collection[str] = ()) -> Optional[Detail]:
    """The kind of detail the question asks for that the entry does not give, or None. A year the question
    names that the content never mentions ("which elections in 2023?") is a date we do not have; a country or
    region it never mentions ("is Belgium a member?", "au Sahel ?") a place it says nothing about."""
    text = text or ""
    if any(year not in known_years for year in YEAR.findall(text)):
        return Detail.WHEN
    if any(place not in known_places for place in places_asked(text)) and not has(entry, Detail.PLACE):
        return Detail.PLACE
    if OTHER_NAME.search(text):
        return Detail.NAMES
    if CITY.search(text) and not has(entry, Detail.PLACE):
        return Detail.PLACE
    if DAY.search(text) and not DAY_IN_TEXT.search(_text(entry)):
        return Detail.WHEN
    kind = asked(text)
    if kind is Detail.AMOUNT and FUNDER.search(text) and FUNDED.search(_text(entry)):
        return None  # "who funds the projects you support?": the EU-funded projects the entry names
    if kind is Detail.NAMES and entry.subject is None and not ASKED[Detail.NAMES].search(EXACTLY.sub(" ", text)) \
            and names_what_is_asked(entry, text):
        return None  # "which institutions exactly?" of the office's role: its answer is the most exact there is
    if kind is Detail.WHEN and OTHER_EVENT.search(text):
        return Detail.WHEN
    if kind is Detail.COUNT and (STAFF.search(text) or counts_something_else(entry, text)):
        return Detail.COUNT  # "how many staff does IOM have?": the content's numbers count member states, countries
    return kind if kind is not None and not has(entry, kind) else None


def _text(entry: Entry) -> str:
    return entry.answer[DEFAULT_LANGUAGE] + "\n" + (entry.more or {}).get(DEFAULT_LANGUAGE, "")


def places_named(text: str) -> Set[str]:
    """The countries and regions (PLACES) a text names, lower-cased."""
    return {match.group(0).lower() for match in PLACES.finditer(text or "")}


def places_asked(text: str) -> Set[str]:
    """The places named where the question is asked: "I represent an organisation in Africa. Are regional
    organisations among your partners?" asks nothing about Africa."""
    split = sentences(text)
    asking = [s for s in split if s.rstrip().endswith("?")] or split[-1:]
    return set().union(*(places_named(s) for s in asking)) if asking else set()


SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentences(text: str) -> List[str]:
    """The text's sentences, split after ".", "!" or "?"."""
    return [s for s in SENTENCE_END.split((text or "").strip()) if s]


def _places() -> "re.Pattern[str]":
    """Country and region names in English and French, from the CLDR data Babel ships (already installed for
    Rasa), and a few regions CLDR does not name. Not 'world' (the content says "worldwide"), not the EU or the
    UN (named by the content), no two-letter forms ("US" is also "us")."""
    names = set(EXTRA_PLACES)
    for language in ("en", "fr"):
        for code, name in Locale(language).territories.items():
            if code in NOT_PLACES:
                continue
            name = re.split(r" - | \(|,", name)[0].replace("&", "and").strip()
            if len(name) > 2:
                names.add(name)
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<!\w)({alternatives})(?!\w)", re.I)


NOT_PLACES = {"001", "ZZ", "QO", "EZ", "UN", "EU"}
EXTRA_PLACES = ("Sahel", "Balkans", "Western Balkans", "Middle East", "Maghreb", "Mediterranean", "Horn of Africa",
                "Moyen-Orient", "Méditerranée", "Corne de l'Afrique", "Geneva", "Genève", "Congo", "Africa",
                "Afrique", "Asia", "Asie", "Latin America", "Amérique latine")
PLACES = _places()

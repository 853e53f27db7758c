"""Decides what to answer: maps the NLU result and the conversation context to a reply from the content.

Pure functions over `Content`, so the action server stays thin and the logic is tested without Rasa.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from bot.answers import details, feedback
from bot.answers.content_store import DEFAULT_LANGUAGE, MAX_FOLLOWUPS, SUBJECT_ENTITY, Content, Entry
from bot.answers.item_naming import item_named_by_words
from bot.answers.mentions import bare, mentioned_position, mentioned_range, pick
from bot.protocol import Fallback, FallbackReason, ReplyKind

FALLBACK_INTENT = "nlu_fallback"
# Intents answered with a message of the same name, and whether the topic menu comes with it.
MESSAGE_INTENTS = {
    "greet": False, "goodbye": False, "thanks": False, "bot_challenge": False,
    "help": True, "out_of_scope": True, "ask_unavailable": True, "ask_personal_case": True,
}
MESSAGE_KEYS = {"ask_unavailable": "unavailable", "ask_personal_case": "personal_case"}
SWITCH_INTENT = "switch_language"
MORE_INTENT = "ask_more"
CONTACT_INTENT = "ask_contact"
# After a 👎 and its reason, such a message is a comment: not understood, off topic, or a refusal the bot would
# give ("too vague for my report" reads as a personal case, "I needed the budget" as a detail it lacks).
NOT_A_QUESTION = {FALLBACK_INTENT, "out_of_scope", "ask_personal_case", "ask_unavailable"}
# "When was it founded?" right after a question about IOM is about IOM, not the Brussels office -- unless
# the question names the office ("when was the office established?").
CONTEXT_REDIRECTS: Dict[Tuple[str, str], Optional[str]] = {("ask_history", "ask_iom"): "ask_iom",
                                                            ("ask_history", "ask_iom_work"): "ask_iom"}
# The same with a pronoun: "and countries where it's present?" after IOM is about IOM (its offices in over 100
# countries), not the website's "Where We Work" section that "which countries…?" alone would get.
# Likewise "its mission in one line?" and "what does it do?" after IOM: IOM's, not the office's.
PRONOUN_REDIRECTS: Dict[Tuple[str, str], str] = {("ask_website", "ask_iom"): "ask_iom",
                                                 ("ask_office_aim", "ask_iom"): "ask_iom",
                                                 ("ask_office_role", "ask_iom"): "ask_iom_work"}
WEBSITE_WORDS = re.compile(r"\b(web ?site|site|sites|link|url|page|pages|section|rubrique|lien)\b", re.I)
OFFICE_WORDS = re.compile(r"\b(office|brussels|liaison|bureau|bruxelles|brussel)\b", re.I)
# "Who else?" after one partner or priority: the whole list it belongs to.
OTHERS = re.compile(r"\b(who else|what else|which others?|the others|any others?|other ones|"
                    r"qui d'autre|quoi d'autre|quels autres|quelles autres|les autres|d'autres)\b", re.I)
# On a fallback, a named subject ("what does the office say about AVRR?") is answered when one of the top
# RESCUE_CANDIDATES intents is about subjects and the top one is not a refusal: the phrasing is unsure, the
# subject is not.
RESCUE_CANDIDATES = 3
REFUSALS = {"out_of_scope", "ask_unavailable", "ask_personal_case"}
MENTION_WORDS = 6  # a message this short that names a position refers to the list just shown
# "When was it launched?" right after EURCAP is about EURCAP: a pronoun keeps the topic for a detail question.
PRONOUN = re.compile(r"\b(it|its|they|their|this|that|these|those|il|elle|ils|elles|ce|cela|ça|celui|celle|"
                     r"ceux|celles|leur|leurs)\b", re.I)
# "And the Brussels office?" after "When was IOM founded?": the same kind of question about another topic.
# ... and a correction: "no, I meant the Brussels office" after "when was IOM founded?".
ELLIPSIS = re.compile(r"^\W*(and|what about|how about|same for|et|et pour|et concernant|qu['’]en est-il|quid|"
                      r"no\b|non\b|sorry|pardon|d['’]accord|ok|okay|I meant|je voulais|je parlais|"
                      r"und|en|y|e|i)\b", re.I)
ELLIPSIS_WORDS = 10
# "Which month?", "which institutions exactly?", "par quels types d'actions ?": a short question for a detail of
# what was just said, when the NLU places it nowhere; the topic's answer (if it gives that detail) is the reply.
# Not "what is Frontex?" or "quel est ton nom ?": a question word and a verb ask something new.
WH_FOLLOW_UP = re.compile(r"^\W*((and|so|et|alors)\W+)?(which|what|through what|by what|in what|quel(le)?s?|lequel|"
                          r"laquelle|lesquel(le)?s|par quel(le)?s?|de quel(le)?s?|dans quel(le)?s?|concr[eè]tement)\b"
                          r"(?!\W*(is|are|was|were|does|do|did|s|est|sont|[ée]tait|c['’]est)\b)", re.I)
WH_FOLLOW_UP_WORDS = 5
IOM_WORDS = re.compile(r"\b(IOM|OIM)\b", re.I)
# What the seed never gives: "how many staff does it have?" after the partners is not about the partners.
UNAVAILABLE_WORDS = re.compile(
    r"\b(staff|employees?|personnel|workers|people work|salar(y|ies)|budget|address|phone|telephone|director|"
    r"head of|opening hours|jobs?|vacanc(y|ies)|internships?|employ[ée]e?s|salari[ée]s|effectifs?|adresse|"
    r"t[ée]l[ée]phone|directeur|directrice|chef|horaires|emplois?|stages?|recrut\w*)\b", re.I)
# A message the NLU could not place, this short and linked to what was said (ellipsis, pronoun), is read in the
# conversation's context (`contextual`); out of scope and "unavailable" only when it names a subject or asks for
# a detail the topic gives ("et quel mois ?").
CONTEXT_WORDS = 12  # words, punctuation aside: "et elle est présente dans combien de pays à peu près ?" is 11
HELP_INTENT = "help"
# Two questions joined ("when was it set up and why?", "quand et pourquoi ?"): when the NLU hesitates between
# two answers, the message asked for both.
BOTH = re.compile(r"\b(and|et|&)\b", re.I)
# "How?", "like what?", "on what exactly?", "liaison with whom?", "pour qui ?", "c'est quel genre de cadre ?":
# a short question that only asks to go on about what was just said, when the NLU places it nowhere.
ELABORATE = re.compile(
    r"^\W*((and|so|but|ok|okay|et|alors|mais|ah|hm+)\W+)*(c['’]est\s+)?("
    # the whole message: "how?", "like what?", "on what exactly?", "comment ça ?", "pour qui ?"
    r"(how( so| come)?|in what (way|sense)|like what|such as|for (example|instance)|e\.?g|meaning|what do you mean|"
    r"what does (that|this|it) mean|what for|(on|about|with|for|to|towards?) (what|whom|who)|"
    r"how do(es)? (it|they|you) do (it|that)|comment( [çc]a| cela| donc)?|c['’]est[- ][àa][- ]dire|par exemple|"
    r"(pour|avec|sur|de|à|a|envers) (qui|quoi)|en quoi|dans quel sens|[àa] savoir|"
    # "on what basis?", "to what end?", "in which areas?", "sur quelle base ?", "dans quel but ?"
    r"(on|in|to|for|with|by|based on) (what|which) (basis|grounds|end|purpose|aim|areas?|fields?|way|means|terms)|"
    r"based on what|(sur|dans|pour|avec|selon|de) (quel(le)?s?) (base|but|objectif|domaines?|fondement|"
    r"crit[èe]res?|moyens?|mani[èe]re|fa[çc]on|cadre|sens|termes)|dans quoi|int[ée]gr[ée]e?s? (dans|[àa]) quoi|"
    r"(what['’]?s|what is) the (approach|idea|point|logic|rationale)|quelle est l['’](approche|id[ée]e)|"
    r"(c['’]est )?quoi l['’](approche|id[ée]e))"
    r"(\W+(exactly|precisely|then|exactement|pr[ée]cis[ée]ment|alors|donc))?\W*$|"
    # "what kind of support?", "c'est quel genre de cadre ?"
    r"(what|which) (kind|sort|type)s? of \w+( \w+)?\W*$|quel(le)?s? (genre|type|sorte) d(e |['’])\w+\W*$)|"
    r"\b(with|for|to) whom\b|\b(avec|pour|envers) qui\W*$", re.I)
ELABORATE_WORDS = 7
# "What are your goals?", "quels sont vos objectifs ?": visitors mean the office's aim as often as the results
# it works towards (the development sets expect either), so the plural gets both: the aim, then the list.
GOAL_INTENTS = ("ask_office_aim", "ask_priorities")
GOALS = re.compile(r"\b(goals|objectives|aims|objectifs|buts|finalités)\b", re.I)
# "Why?" alone after one partner or result asks why that one, not why the office was set up.
WHY_ALONE = re.compile(r"^\W*((and|so|but|ok|okay|et|alors|mais)\W+)*(why|how come|pourquoi|pk|pq)( (that|this|[çc]a|"
                       r"donc|alors|so))?\W*$", re.I)
STANDS_FOR = re.compile(r"\b(stands? for|acronym|abbreviation|short for|veut dire|signifie|sigle|acronyme|"
                        r"abr[ée]viation)\b", re.I)
# "C'est vous qui le gérez ?", "is it run by you?" after a project: who runs it is what its entry says (hosted
# by the office), when it says so.
RUN_BY = re.compile(r"\b(c['’]est vous qui (le|la|les|l['’])|is it you who (runs?|manages?|hosts?|leads?) it|"
                    r"do you (run|manage|host|lead) (it|this|that)|(run|managed|hosted|led) by (you|your office|"
                    r"the office)|vous (le|la|les) (g[ée]rez|pilotez|h[ée]bergez)|g[ée]r[ée]e?s? par vous)\b", re.I)
HOSTED = re.compile(r"\bhost(s|ed)\b", re.I)


def _english(entry: Entry) -> str:
    return entry.answer.get(DEFAULT_LANGUAGE, "")


CONTEXT_INTENTS = {FALLBACK_INTENT, "out_of_scope", "ask_unavailable", HELP_INTENT}
# "Is it part of the UN?", "l'OIM fait partie de l'ONU ?": IOM's place in the UN system, not the UN agencies it
# partners with (the subject the lookup finds in "the UN").
UN_MEMBERSHIP = re.compile(r"\b(part of|member of|belongs? to|join(ed)?) the (UN|United Nations)\b|"
                           r"\b(is|are|was) (it|iom|they|the organi[sz]ation) (in|within|under) the "
                           r"(UN|United Nations)\b|"
                           r"\b(is|isn['’]t|was) (it|iom|the organi[sz]ation) (an? )?(UN|United Nations) "
                           r"(agency|body|organi[sz]ation)|"
                           r"\b(fait|fais|font)(-(elle|il|ils|elles))? partie (de l['’]ONU|des Nations unies|"
                           r"du syst[eè]me des Nations)|\bmembre (de l['’]ONU|des Nations unies)|"
                           r"\b(une )?agence (de l['’]ONU|des Nations unies|onusienne)\b", re.I)
IOM_INTENT = "ask_iom"
SINGULAR = re.compile(r"\b(it|this|that|[çc]a|cela|ceci|il|elle)\b", re.I)
THIRD_PERSON = re.compile(r"\b(it|its|they|their|il|elle|ils|elles)\b", re.I)
# Intents under which "the third partner" is looked up in the lists without the NLU's help.
POSITIONAL_INTENTS = {FALLBACK_INTENT, None, "ask_unavailable", MORE_INTENT}


@dataclass(frozen=True)
class Understood:
    """What the NLU made of the visitor's message."""
    intent: Optional[str]
    entities: Sequence[dict] = ()
    ranking: Sequence[dict] = ()
    fallback: Optional[Fallback] = None
    text: str = ""
    previous_text: str = ""  # the visitor's message before this one, if any


@dataclass(frozen=True)
class Options:
    """What the operator configured that replies depend on (bot/settings.py)."""
    contact_email: Optional[str] = None
    contact_url: Optional[str] = None
    retention_days: int = 0  # 0: conversations are kept until someone deletes them


@dataclass
class Reply:
    text: str
    buttons: List[Dict[str, str]] = field(default_factory=list)
    entry_id: Optional[str] = None  # the content entry answered, remembered as the conversation's topic
    kind: ReplyKind = ReplyKind.ANSWER
    slots: Dict[str, Any] = field(default_factory=dict)  # other slots to set (feedback)
    preface: Optional[str] = None  # a short line sent first, as a message of its own


def subject_of(entities: Iterable[dict]) -> Optional[str]:
    for entity in entities or []:
        if entity.get("entity") == SUBJECT_ENTITY and isinstance(entity.get("value"), str):
            return entity["value"]
    return None


class Dialogue:
    """Picks the reply to one turn, in one language."""

    def __init__(self, content: Content, language: str, options: Options = Options()) -> None:
        self.content, self.language, self.options = content, language, options

    def answer(self, entry: Entry, text: Optional[str] = None, kind: ReplyKind = ReplyKind.ANSWER) -> Reply:
        """A content answer, its follow-ups and the 👍 / 👎 buttons."""
        buttons = [*self.content.buttons(entry.followups, self.language),
                   *feedback.rating_buttons(self.content, entry.id, self.language)]
        return Reply(text or entry.answer[self.language], buttons, entry.id, kind)

    def message(self, intent: str) -> Reply:
        key = MESSAGE_KEYS.get(intent, intent)
        text = self.content.message(key, self.language)
        if intent == "greet" and self.options.retention_days:  # the first message says how long we keep it
            text += "\n\n" + self.content.message("retention_notice", self.language,
                                                  days=self.options.retention_days)
        buttons = self.content.buttons(self.content.menu, self.language) if MESSAGE_INTENTS[intent] else []
        return Reply(text, buttons, None, ReplyKind.MESSAGE)

    def switched(self, last: Optional[Entry]) -> Reply:
        """"In French please": say so, and give the answer being discussed again, in the new language."""
        switched = self.content.message("language_switched", self.language)
        if last is None:  # one message: "Alright, I'll answer in English. What would you like to know?"
            return Reply(f"{switched.strip()} {self.content.message('what_next', self.language).strip()}",
                         self.content.buttons(self.content.menu, self.language), None, ReplyKind.MESSAGE)
        again = self.answer(last)
        again.preface = switched
        return again

    def contact(self) -> Reply:
        email, url = self.options.contact_email, self.options.contact_url
        routes = [*([f"[{email}](mailto:{email})"] if email else []), *([f"<{url}>"] if url else [])]
        if not routes:
            return self.menu("contact_none")
        joiner = self.content.message("or", self.language)
        return Reply(self.content.message("contact", self.language, route=f" {joiner} ".join(routes)), [], None,
                     ReplyKind.MESSAGE)

    def no_detail(self, entry: Entry) -> Reply:
        """The question asks for a date, a figure or names that `entry` does not give (bot/answers/details.py):
        say so, and offer what the entry does say (under a neutral title, so the reply itself states nothing)
        and the topic menu, instead of answering something else."""
        offer = {"title": self.content.message("no_detail_button", self.language), "payload": entry.payload}
        menu = self.content.buttons([i for i in self.content.menu if i != entry.id], self.language)
        return Reply(self.content.message("no_detail", self.language), [offer, *menu][:MAX_FOLLOWUPS], None,
                     ReplyKind.NO_DETAIL)

    def named_item(self, text: str) -> Optional[Entry]:
        """"The third type of partner", "le premier résultat": an item of a list named by its words."""
        position = mentioned_position(text)
        if position is None:
            return None
        for entry in self.content.entries.values():
            item = pick(entry.items, position) if entry.item_words and entry.item_words.search(text) else None
            if item:
                return self.content.entries[item]
        return None

    def feedback(self, understood: Understood, last: Optional[Entry]) -> Reply:
        given = feedback.from_entities(list(understood.entities), last.id if last else None, understood.text)
        if given is None or given.entry not in self.content.entries:  # typed feedback without a topic
            if feedback.typed_rating(understood.text) == "down":
                return self.menu("feedback_noted", ReplyKind.FEEDBACK)
            return self.message("thanks")
        slots: Dict[str, Any] = {feedback.FEEDBACK_SLOT: given.to_slot(), feedback.AWAITING_COMMENT_SLOT: None}
        if given.rating == "up":
            return Reply(self.content.message("feedback_thanks", self.language), [], None, ReplyKind.FEEDBACK, slots)
        if given.reason is None:
            return Reply(self.content.message("feedback_reasons", self.language),
                         feedback.reason_buttons(self.content, given.entry, self.language), None,
                         ReplyKind.FEEDBACK, slots)
        slots[feedback.AWAITING_COMMENT_SLOT] = given.entry
        return Reply(self.content.message("feedback_comment", self.language), [], None, ReplyKind.FEEDBACK, slots)

    def comment(self, entry: str, text: str) -> Reply:
        given = feedback.Feedback(entry, "down", comment=text.strip()[:feedback.MAX_COMMENT_CHARS])
        return Reply(self.content.message("feedback_comment_thanks", self.language), [], None, ReplyKind.FEEDBACK,
                     {feedback.FEEDBACK_SLOT: given.to_slot(), feedback.AWAITING_COMMENT_SLOT: None})

    def menu(self, key: str, kind: ReplyKind = ReplyKind.MESSAGE) -> Reply:
        return Reply(self.content.message(key, self.language), self.content.buttons(self.content.menu, self.language),
                     None, kind)

    def goals(self) -> Reply:
        """"What are your goals?": the office's aim, then the results it works towards (the list)."""
        aim, results = (self.content.find(intent) for intent in GOAL_INTENTS)
        either = results or aim
        if either is None:
            return self.menu("fallback", ReplyKind.FALLBACK)
        reply = self.answer(either)
        if aim is None or results is None:
            return reply
        reply.preface = aim.answer[self.language]
        return reply

    def more(self, last: Optional[Entry]) -> Reply:
        if last is None:
            return self.menu("no_context")
        if last.more:
            return self.answer(last, last.more[self.language], ReplyKind.MORE)
        again = self.answer(last, kind=ReplyKind.MORE)  # nothing more: say so, and what there is, once more
        again.preface = self.content.message("no_more", self.language, title=last.title[self.language])
        return again

    def uncertain(self, understood: Understood) -> Reply:
        """nlu_fallback: ask "did you mean" when two answers are close, otherwise say what we can answer."""
        content, fallback = self.content, understood.fallback
        ranked = [r for r in understood.ranking or [] if r.get("name") != FALLBACK_INTENT]
        candidates = ranked[:2]
        subject = subject_of(understood.entities)
        if subject and ranked and ranked[0]["name"] not in REFUSALS:
            about_subjects = content.subject_intents | {MORE_INTENT}
            for candidate in ranked[:RESCUE_CANDIDATES]:
                entry = content.find(candidate["name"], subject) if candidate["name"] in about_subjects else None
                if entry:
                    return self.checked(entry, understood.text)
        top = content.find(ranked[0]["name"]) if ranked and ranked[0]["name"] not in REFUSALS else None
        if top is not None and top.item_words and top.item_words.search(understood.text or ""):
            return self.checked(top, understood.text)  # unsure phrasing, but it names what the list lists
        named_by_words = item_named_by_words(content, top, understood.text) if top is not None and top.items else None
        if named_by_words:
            return self.checked(named_by_words, understood.text)  # unsure phrasing, but one item's own words
        if fallback and fallback.reason is FallbackReason.AMBIGUOUS and len(candidates) == 2:
            entries = [content.find(c["name"], subject) for c in candidates]
            if entries[0] and entries[1] and entries[0].id != entries[1].id:
                if BOTH.search(understood.text or ""):  # "when was it set up and why?": both answers
                    both = self.answer(entries[1])
                    both.preface = entries[0].answer[self.language]
                    return both
                return Reply(content.message("did_you_mean", self.language),
                             content.buttons((entries[0].id, entries[1].id), self.language), None,
                             ReplyKind.DID_YOU_MEAN)
        return self.menu("fallback", ReplyKind.FALLBACK)

    def listed(self, understood: Understood, last: Entry, related: bool) -> Optional[Entry]:
        """The list a mention of positions points at: the list just shown, else (after "what are your goals?"
        -> the office's aim) the list its follow-ups offer, for a bare mention: "the sixth one" can only mean a
        list."""
        listed = last if last.items else next((self.content.entries[i] for i in last.followups
                                               if self.content.entries[i].items), None)
        return listed if listed and (related or bare(understood.text)) and \
            (listed is last or bare(understood.text)) else None

    def several_in_context(self, understood: Understood, last: Optional[Entry]) -> List[Entry]:
        """"The last two", "les trois premiers": those items of the list in context, in order."""
        positions = mentioned_range(understood.text or "")
        if last is None or positions is None or subject_of(understood.entities):
            return []
        listed = self.listed(understood, last, understood.intent in (last.intent, MORE_INTENT, FALLBACK_INTENT, None))
        items = [pick(listed.items, position) for position in positions] if listed else []
        # several lines of a list can be one entry's (the three climate results): each entry once
        return [self.content.entries[i] for i in dict.fromkeys(items)] if items and all(items) else []

    def in_context(self, understood: Understood, last: Optional[Entry]) -> Optional[Entry]:
        """The entry a short follow-up means in the conversation's context: an item of the list just shown
        ("the third one"), or the whole list after one of its items ("who else?")."""
        if last is None or subject_of(understood.entities):
            return None
        short = len(understood.text.split()) <= MENTION_WORDS
        # "le quatrième, c'est quoi ?" read as out of scope: this short, after a list, it is about the list.
        related = understood.intent in (last.intent, MORE_INTENT, FALLBACK_INTENT, None) or \
            (short and understood.intent in CONTEXT_INTENTS)
        listed = self.listed(understood, last, related)
        if listed:
            item = pick(listed.items, mentioned_position(understood.text))
            if item:
                return self.content.entries[item]
        if last.subject and (related or short) and OTHERS.search(understood.text):
            return self.content.find(last.intent, None)
        # "et la résilience des communautés ?" after one result: another item of the same list, by its words
        listing = last if last.items else self.content.find(last.intent, None) if last.subject else None
        if listing is not None and listing.items and (related or understood.intent == listing.intent) \
                and not THIRD_PERSON.search(understood.text):  # "so it's an election thing?" is about the topic
            return item_named_by_words(self.content, listing, understood.text)
        return None

    def decide(self, understood: Understood, last_entry_id: Optional[str] = None,
               awaiting_comment: Optional[str] = None) -> Reply:
        reply = self._decide(understood, last_entry_id, awaiting_comment)
        if awaiting_comment and feedback.AWAITING_COMMENT_SLOT not in reply.slots:
            reply.slots[feedback.AWAITING_COMMENT_SLOT] = None  # the visitor moved on: no comment expected
        return reply

    def _decide(self, understood: Understood, last_entry_id: Optional[str],
                awaiting_comment: Optional[str]) -> Reply:
        content = self.content
        last = content.entries.get(last_entry_id) if last_entry_id else None
        intent = understood.intent
        if intent == feedback.FEEDBACK_INTENT:
            return self.feedback(understood, last)
        if awaiting_comment and awaiting_comment in content.entries and intent in NOT_A_QUESTION \
                and not understood.text.startswith("/"):
            return self.comment(awaiting_comment, understood.text)
        if subject_of(understood.entities) == "un_agencies" and UN_MEMBERSHIP.search(understood.text or ""):
            understood, intent = replace(understood, intent=IOM_INTENT, entities=(), fallback=None), IOM_INTENT
        several = self.several_in_context(understood, last)
        if len(several) == 1:
            return self.answer(several[0])
        if several:  # each answer in turn; the last one is the new context
            reply = self.answer(several[-1])
            reply.preface = "\n\n".join(entry.answer[self.language] for entry in several[:-1])
            return reply
        follow_up = self.in_context(understood, last)
        if follow_up is not None:  # "which countries had missions last year?" names the item, asks what it lacks
            return self.checked(follow_up, understood.text)
        named = self.named_item(understood.text) \
            if intent in POSITIONAL_INTENTS | content.subject_intents and not subject_of(understood.entities) else None
        if named is not None:
            return self.answer(named)
        text = understood.text or ""
        if last and last.subject and STANDS_FOR.search(text) and PRONOUN.search(text) \
                and not subject_of(understood.entities):
            return self.checked(last, text)  # "what does that acronym stand for?" after AVRR
        if last and last.subject and RUN_BY.search(text) and HOSTED.search(_english(last)) \
                and not subject_of(understood.entities):
            return self.checked(last, text)  # "c'est vous qui le gérez ?" after EURCAP: hosted by the office
        if last and last.subject and WHY_ALONE.match(text) and not subject_of(understood.entities):
            return self.more(last)
        if last and last.subject and intent == last.intent and not subject_of(understood.entities) \
                and len(text.split()) <= CONTEXT_WORDS and SINGULAR.search(text):
            return self.checked(last, text)  # "et ça s'applique à tous les migrants ?" after AVRR: still AVRR
        if last and intent in CONTEXT_INTENTS and self.elaborating(understood):
            return self.more(last)
        if last and intent in CONTEXT_INTENTS:
            rescued = self.contextual(understood, last)
            if rescued is not None:
                return rescued
        if intent == CONTACT_INTENT:
            return self.contact()
        if intent == SWITCH_INTENT:
            return self.switched(last)
        if intent in MESSAGE_INTENTS:
            return self.message(intent)
        if intent == FALLBACK_INTENT:
            return self.uncertain(understood)
        subject = subject_of(understood.entities)
        if intent == MORE_INTENT and not subject:
            return self.more(last)
        if last and not subject and not OFFICE_WORDS.search(text):
            intent = CONTEXT_REDIRECTS.get((intent or "", last.intent or ""), intent)
            if THIRD_PERSON.search(text) and not WEBSITE_WORDS.search(text):  # "does it have a website?"
                intent = PRONOUN_REDIRECTS.get((intent or "", last.intent or ""), intent)
            if last.subject and PRONOUN.search(text) and details.missing(last, text, content.years, content.places):
                return self.no_detail(last)  # "when was it launched?" after EURCAP
        entry = content.find(intent, subject)
        if entry is None:
            return self.menu("fallback", ReplyKind.FALLBACK)
        item = pick(entry.items, mentioned_position(text)) if entry.items and not subject else None
        if item:
            return self.answer(content.entries[item])  # "what is the third result?"
        named_by_words = item_named_by_words(content, entry, text) if entry.items and not subject else None
        if named_by_words:
            return self.checked(named_by_words, text)  # "what about solidarity with host countries?"
        if entry.intent in GOAL_INTENTS and not subject and GOALS.search(text) and details.asked(text) is None:
            return self.goals()
        return self.checked(self.elliptical(entry, understood), text)

    @staticmethod
    def elaborating(understood: Understood) -> bool:
        """"How?", "for whom?", "quel genre de cadre ?": go on about the topic (no subject, no detail asked)."""
        text = understood.text or ""
        return len(text.split()) <= ELABORATE_WORDS and bool(ELABORATE.search(text)) \
            and not subject_of(understood.entities) and details.asked(text) is None \
            and not UNAVAILABLE_WORDS.search(text)

    def contextual(self, understood: Understood, last: Entry) -> Optional[Reply]:
        """"What about universities?", "what does it stand for?", "et quel mois ?", "non, je voulais dire le
        bureau": the subject it names, the office or IOM it names, else the conversation's topic."""
        text = understood.text or ""
        words = [w for w in text.split() if any(c.isalnum() for c in w)]
        short_question = len(words) <= WH_FOLLOW_UP_WORDS and WH_FOLLOW_UP.match(text)
        if len(words) > CONTEXT_WORDS or not (ELLIPSIS.match(text) or PRONOUN.search(text) or short_question) \
                or UNAVAILABLE_WORDS.search(text):
            return None
        subject, kind = subject_of(understood.entities), details.asked(text)
        unsure = understood.intent == FALLBACK_INTENT
        target: Optional[Entry]
        if subject:
            target = self.content.by_subject.get(subject)
        elif unsure and OFFICE_WORDS.search(text):
            target = self.content.find("ask_office_role")
        elif unsure and IOM_WORDS.search(text):
            target = self.content.find("ask_iom")
        elif unsure or (kind is not None and details.has(last, kind)):
            target = last
        elif understood.intent == HELP_INTENT and THIRD_PERSON.search(text):
            target = last  # "what does it do?" after the office: the office, not "what can you do?"
        else:
            return None
        return self.checked(self.elliptical(target, understood), text) if target else None

    def elliptical(self, entry: Entry, understood: Understood) -> Entry:
        """"And the Brussels office?" right after "When was IOM founded?": the entry's follow-up that gives the
        detail the previous question asked for (office_role -> office_established), else the entry."""
        text = understood.text or ""
        if not understood.previous_text or not ELLIPSIS.match(text) or len(text.split()) > ELLIPSIS_WORDS \
                or details.asked(text):
            return entry
        kind = details.asked(understood.previous_text)
        if kind is None or details.has(entry, kind):
            return entry
        return next((self.content.entries[i] for i in entry.followups if details.has(self.content.entries[i], kind)),
                    entry)

    def checked(self, entry: Entry, text: str) -> Reply:
        """The entry's answer, unless the question asks for a detail it does not give; with the count first
        when the question asks how many of its items there are."""
        if details.missing(entry, text, self.content.years, self.content.places):
            return self.no_detail(entry)
        reply = self.answer(entry)
        if entry.countable and details.asked(text) is details.Detail.COUNT and entry.item_words \
                and entry.item_words.search(text):
            reply.preface = self.content.message("count", self.language, n=len(entry.items))
        return reply


def decide(content: Content, understood: Understood, last_entry_id: Optional[str] = None,
           language: str = DEFAULT_LANGUAGE, options: Options = Options(),
           awaiting_comment: Optional[str] = None) -> Reply:
    """The reply to one user turn, in `language`."""
    return Dialogue(content, language, options).decide(understood, last_entry_id, awaiting_comment)

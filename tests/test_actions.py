"""action_answer with real rasa_sdk Trackers and a CollectingDispatcher (no servers)."""
from __future__ import annotations

import asyncio
from typing import List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionAnswer
from bot.answers.content_store import load_content
from bot.answers.dialogue import Options
from bot.answers.mentions import bare
from bot.protocol import FALLBACK_KEY, LANGUAGE_KEY, DetectedLanguage, Fallback, FallbackReason
from tests.support import config_thresholds
from tools.evaluate import FACT_MARKERS

CONTENT = load_content()
THRESHOLD, AMBIGUITY = config_thresholds()


def tracker(intent: str, confidence: float = 0.95, entities: Optional[List[dict]] = None, last_entry=None,
            ranking: Optional[List[dict]] = None, text: str = "…", fallback: Optional[FallbackReason] = None,
            detected: Optional[DetectedLanguage] = None, language: Optional[str] = None,
            metadata: Optional[dict] = None, previous: Optional[str] = None) -> Tracker:
    ranking = ranking or [{"name": intent, "confidence": confidence}]
    latest = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": entities or [],
              "intent_ranking": ranking, "metadata": metadata or {}}
    if fallback:  # what bot.nlu.fallback adds to the parse data
        latest[FALLBACK_KEY] = Fallback(fallback, THRESHOLD).to_dict()
    if detected:  # what bot.nlu.language adds
        latest[LANGUAGE_KEY] = detected.to_dict()
    events = [{"event": "user", "text": t} for t in ([previous] if previous else []) + [text]]
    return Tracker("sender", {"last_entry": last_entry, "language": language}, latest, events, False, None, {},
                   "action_listen")


def run_all(t: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionAnswer().run(dispatcher, t, {}))
    return dispatcher.messages, events


def run(t: Tracker):
    messages, events = run_all(t)
    assert len(messages) == 1
    return messages[0], events


def language_slot(events):
    return next((e["value"] for e in events if e.get("event") == "slot" and e["name"] == "language"), None)


def slot(events):
    return next((e["value"] for e in events if e.get("event") == "slot" and e["name"] == "last_entry"), None)


def test_faq_answer_comes_from_content_with_followup_buttons():
    message, events = run(tracker("ask_history"))
    assert message["text"] == CONTENT.entries["office_established"].answer["en"]
    assert "September 2011" in message["text"]
    assert [b["title"] for b in message["buttons"]] == [*(CONTENT.entries[i].title["en"]
                                                          for i in ("office_context", "office_role")),
                                                        "👍 Helpful", "👎 Not helpful"]
    assert slot(events) == "office_established"


def test_subject_entity_selects_the_specific_entry():
    message, events = run(tracker("ask_priorities", entities=[{"entity": "subject", "value": "avrr"}]))
    assert "Assisted Voluntary Return and Reintegration" in message["text"]
    assert slot(events) == "prio_avrr"


def test_subject_of_another_topic_wins_over_a_topic_intent():
    message, _ = run(tracker("ask_partners", entities=[{"entity": "subject", "value": "eurcap"}]))
    assert "Readmission" in message["text"]
    message, _ = run(tracker("ask_more", entities=[{"entity": "subject", "value": "avrr"}], last_entry="office_role"))
    assert "Assisted Voluntary Return" in message["text"]


def test_subject_does_not_hijack_a_specific_question():
    # "Why did IOM set up an office close to the EU institutions?"
    message, _ = run(tracker("ask_history_why", entities=[{"entity": "subject", "value": "eu_institutions"}]))
    assert "Lisbon" in message["text"]
    message, _ = run(tracker("ask_iom", entities=[{"entity": "subject", "value": "un_agencies"}]))
    assert "1951" in message["text"]


def test_unknown_subject_falls_back_to_the_intent_overview():
    message, events = run(tracker("ask_partners", entities=[{"entity": "subject", "value": "martians"}]))
    assert slot(events) == "partners_overview"


def test_context_when_after_iom_is_about_iom():
    message, events = run(tracker("ask_history", last_entry="iom_about", text="when was it founded?"))
    assert "1951" in message["text"] and slot(events) == "iom_about"


@pytest.mark.parametrize("text", ["is it part of the UN?", "so it's not part of the UN?",
                                  "l'OIM fait partie de l'ONU ?", "L'OIM fait-elle partie de l'ONU ?",
                                  "c'est une agence des Nations unies ?"])
def test_iom_in_the_un_system_is_not_the_un_agencies_partner(text):
    message, events = run(tracker("nlu_fallback", 0.3, text=text, last_entry="office_role",
                                  entities=[{"entity": "subject", "value": "un_agencies"}],
                                  fallback=FallbackReason.LOW_CONFIDENCE))
    assert slot(events) == "iom_about"
    for partner_question in ["and the UN?", "who are your partners in the UN?"]:
        message, events = run(tracker("ask_partners", text=partner_question, last_entry="partner_academia",
                                      entities=[{"entity": "subject", "value": "un_agencies"}]))
        assert slot(events) == "partner_un"


def test_where_it_is_present_after_iom_is_about_iom_not_the_website():
    message, events = run(tracker("ask_website", text="and countries where it's present?", last_entry="iom_about"))
    assert slot(events) == "iom_about"
    message, events = run(tracker("ask_website", text="what sections does the website have?", last_entry="iom_about"))
    assert slot(events) == "website_sections"
    message, events = run(tracker("ask_website", text="does it have a website?", last_entry="iom_about"))
    assert slot(events) == "website_sections"


def test_naming_the_office_overrides_the_iom_context():
    message, events = run(tracker("ask_history", last_entry="iom_about", text="when was the office established?"))
    assert "September 2011" in message["text"]


def test_context_when_after_office_is_about_office_then_why_then_more():
    message, events = run(tracker("ask_history", last_entry="office_role"))
    assert "September 2011" in message["text"]
    message, events = run(tracker("ask_history_why", last_entry=slot(events)))
    assert "Lisbon" in message["text"] and "enlargement" in message["text"]
    message, events = run(tracker("ask_more", last_entry="office_role"))
    assert message["text"] == CONTENT.entries["office_role"].more["en"]
    assert slot(events) == "office_role"


def test_more_without_more_text_says_so_and_gives_what_there_is_again():
    messages, events = run_all(tracker("ask_more", last_entry="prio_ibm"))
    title = CONTENT.entries["prio_ibm"].title["en"]
    assert [m["text"] for m in messages] == [CONTENT.message("no_more", "en", title=title),
                                             CONTENT.entries["prio_ibm"].answer["en"]]
    assert messages[1]["buttons"] and slot(events) == "prio_ibm"


def test_more_without_context_asks_for_a_topic():
    message, events = run(tracker("ask_more"))
    assert message["text"] == CONTENT.message("no_context", "en") and message["buttons"] and slot(events) is None


@pytest.mark.parametrize("intent,key", [("greet", "greet"), ("goodbye", "goodbye"), ("thanks", "thanks"),
                                        ("bot_challenge", "bot_challenge"), ("help", "help")])
def test_chitchat(intent, key):
    message, events = run(tracker(intent))
    assert message["text"].startswith(CONTENT.message(key, "en")) and slot(events) is None


def test_the_greeting_says_how_long_conversations_are_kept():
    message, _ = run(tracker("greet"))
    assert message["text"].endswith(CONTENT.message("retention_notice", "en", days=90))


@pytest.mark.parametrize("intent", ["out_of_scope", "ask_unavailable", "ask_personal_case"])
def test_cannot_answer_says_what_it_can_with_buttons_and_no_facts(intent):
    message, _ = run(tracker(intent))
    assert len(message["buttons"]) >= 3
    reply = message["text"] + " ".join(b["title"] for b in message["buttons"])
    assert not [m for m in FACT_MARKERS if m.lower() in reply.lower()]


def test_ambiguous_question_asks_did_you_mean_with_both():
    top = THRESHOLD + 0.05
    ranking = [{"name": "nlu_fallback", "confidence": THRESHOLD},
               {"name": "ask_history", "confidence": top},
               {"name": "ask_iom", "confidence": top - AMBIGUITY / 2}]
    message, events = run(tracker("nlu_fallback", THRESHOLD, ranking=ranking, fallback=FallbackReason.AMBIGUOUS))
    assert message["text"] == CONTENT.message("did_you_mean", "en")
    assert [b["payload"] for b in message["buttons"]] == ["/ask_history", "/ask_iom"]
    assert slot(events) is None


def test_low_confidence_is_a_polite_fallback_with_the_menu():
    ranking = [{"name": "nlu_fallback", "confidence": THRESHOLD},
               {"name": "ask_history", "confidence": 0.2}, {"name": "ask_iom", "confidence": 0.19}]
    message, _ = run(tracker("nlu_fallback", THRESHOLD, ranking=ranking, fallback=FallbackReason.LOW_CONFIDENCE))
    assert message["text"] == CONTENT.message("fallback", "en")
    assert [b["payload"] for b in message["buttons"]] == [CONTENT.entries[i].payload for i in CONTENT.menu]


def test_every_button_payload_is_in_the_allow_list():
    for e in CONTENT.entries.values():
        for b in CONTENT.buttons(e.followups, "en"):
            assert b["payload"] in CONTENT.payloads


def test_unsure_phrasing_with_a_known_subject_answers_the_subject():
    ranking = [{"name": "nlu_fallback", "confidence": THRESHOLD},
               {"name": "ask_more", "confidence": THRESHOLD - 0.1},
               {"name": "ask_priorities", "confidence": 0.2}]
    message, events = run(tracker("nlu_fallback", THRESHOLD, ranking=ranking, fallback=FallbackReason.LOW_CONFIDENCE,
                                  entities=[{"entity": "subject", "value": "avrr"}]))
    assert slot(events) == "prio_avrr"


def test_unsure_phrasing_with_a_subject_but_an_unrelated_intent_still_falls_back():
    ranking = [{"name": "nlu_fallback", "confidence": THRESHOLD},
               {"name": "out_of_scope", "confidence": 0.5}, {"name": "ask_priorities", "confidence": 0.2}]
    message, _ = run(tracker("nlu_fallback", THRESHOLD, ranking=ranking, fallback=FallbackReason.LOW_CONFIDENCE,
                             entities=[{"entity": "subject", "value": "environment_climate"}]))
    assert message["text"] == CONTENT.message("fallback", "en")


# ---------------------------------------------------------------------------------------------- languages

FRENCH = DetectedLanguage("fr", 0.97, True)


def test_a_reliably_french_question_is_answered_in_french_and_the_language_sticks():
    message, events = run(tracker("ask_history", detected=FRENCH, language="en"))
    assert message["text"] == CONTENT.entries["office_established"].answer["fr"] and message["lang"] == "fr"
    assert [b["title"] for b in message["buttons"]][0] == CONTENT.entries["office_context"].title["fr"]
    assert language_slot(events) == "fr"
    short = DetectedLanguage("en", 0.6, False)  # "ok": too short to change it
    message, events = run(tracker("thanks", detected=short, language="fr"))
    assert message["text"] == CONTENT.message("thanks", "fr") and language_slot(events) == "fr"


def test_a_first_short_message_sets_the_language_when_likely_and_the_hint_wins_over_a_guess():
    message, _ = run(tracker("greet", detected=DetectedLanguage("fr", 0.9, False)))  # "salut"
    assert message["text"].startswith(CONTENT.message("greet", "fr"))
    message, _ = run(tracker("greet", detected=DetectedLanguage("en", 0.9, False), metadata={"language": "fr"}))
    assert message["text"].startswith(CONTENT.message("greet", "fr"))  # the widget page is French


def test_explicit_switch_changes_the_language_and_offers_the_menu():
    messages, events = run_all(tracker("switch_language", entities=[{"entity": "language", "value": "fr"}],
                                       detected=DetectedLanguage("en", 0.99, True), language="en"))
    [message] = messages  # one bubble: "D’accord, je vous réponds en français. Que souhaitez-vous savoir ?"
    assert message["text"] == CONTENT.message("language_switched", "fr").strip() + " " + \
        CONTENT.message("what_next", "fr").strip() and message["buttons"]
    assert language_slot(events) == "fr"


def test_switching_language_during_a_topic_gives_the_answer_again_in_the_new_language():
    messages, events = run_all(tracker("switch_language", entities=[{"entity": "language", "value": "fr"}],
                                       language="en", last_entry="office_established"))
    assert [m["text"] for m in messages] == [CONTENT.message("language_switched", "fr"),
                                             CONTENT.entries["office_established"].answer["fr"]]
    assert slot(events) == "office_established" and language_slot(events) == "fr"


def test_another_language_is_answered_with_a_note():
    messages, events = run_all(tracker("ask_iom", detected=DetectedLanguage("de", 0.95, True)))
    assert [m["text"] for m in messages] == [CONTENT.message("other_language", "en"),
                                             CONTENT.entries["iom_about"].answer["en"]]
    assert language_slot(events) == "en"


# ---------------------------------------------------------------------------------------------- follow-ups

@pytest.mark.parametrize("text,position", [("the fourth one", 3), ("number 2", 1), ("the last one", -1),
                                           ("et le troisième ?", 2), ("tell me more about the second", 1)])
def test_a_position_in_the_list_just_shown_answers_that_item(text, position):
    items = CONTENT.entries["partners_overview"].items
    message, events = run(tracker("ask_iom", confidence=0.4, text=text, last_entry="partners_overview"))
    assert slot(events) == items[position]


@pytest.mark.parametrize("text", ["go back to number 3", "back to the third one", "revenons au troisième", "no.3",
                                  "item three"])
def test_going_back_to_a_position_after_an_item_takes_it_from_that_items_list(text):
    items = CONTENT.entries["priorities_overview"].items
    message, events = run(tracker("nlu_fallback", 0.3, text=text, last_entry=items[-1],
                                  fallback=FallbackReason.LOW_CONFIDENCE))
    assert slot(events) == items[2]


def test_a_position_in_a_question_about_another_list_is_taken_from_that_list():
    message, events = run(tracker("ask_priorities", text="what is the first of your priorities?",
                                  last_entry="partners_overview"))
    assert slot(events) == "prio_safe_regular"
    message, events = run(tracker("ask_priorities", text="what are your priorities?", last_entry="partners_overview"))
    assert slot(events) == "priorities_overview"


def test_who_else_after_one_partner_lists_them_all():
    message, events = run(tracker("nlu_fallback", 0.3, text="who else?", last_entry="partner_media",
                                  fallback=FallbackReason.LOW_CONFIDENCE))
    assert slot(events) == "partners_overview"


# ---------------------------------------------------------------------------------------------- feedback

def feedback_slot(events):
    return next((e["value"] for e in events if e.get("event") == "slot" and e["name"] == "feedback"), None)


def awaiting(events):
    return next((e["value"] for e in events if e.get("event") == "slot" and e["name"] == "awaiting_comment"), "unset")


def test_thumbs_up_is_stored_with_the_answer_it_rates_and_thanked():
    message, events = run(tracker("feedback", 1.0, entities=[{"entity": "rating", "value": "up"},
                                                             {"entity": "entry", "value": "office_established"}],
                                  last_entry="office_established"))
    assert message["text"] == CONTENT.message("feedback_thanks", "en") and not message["buttons"]
    assert feedback_slot(events) == {"entry": "office_established", "rating": "up", "reason": None, "comment": None}
    assert slot(events) is None  # the topic stays the answer rated


def test_thumbs_down_offers_reasons_then_a_comment_which_is_stored():
    down = [{"entity": "rating", "value": "down"}, {"entity": "entry", "value": "prio_ibm"}]
    message, events = run(tracker("feedback", 1.0, entities=down, language="fr"))
    assert message["text"] == CONTENT.message("feedback_reasons", "fr")
    assert [b["payload"] for b in message["buttons"]] == [
        f'/feedback{{"rating":"down","entry":"prio_ibm","reason":"{r}"}}' for r in ("wrong", "missing", "unclear")]
    message, events = run(tracker("feedback", 1.0, entities=[*down, {"entity": "reason", "value": "missing"}]))
    assert feedback_slot(events)["reason"] == "missing" and awaiting(events) == "prio_ibm"
    comment = tracker("nlu_fallback", 0.3, text="I wanted the list of countries",
                      fallback=FallbackReason.LOW_CONFIDENCE)
    comment.slots["awaiting_comment"] = "prio_ibm"
    message, events = run(comment)
    assert message["text"] == CONTENT.message("feedback_comment_thanks", "en")
    assert feedback_slot(events) == {"entry": "prio_ibm", "rating": "down", "reason": None,
                                     "comment": "I wanted the list of countries"}
    assert awaiting(events) is None


@pytest.mark.parametrize("intent,text", [("ask_personal_case", "too vague for my report"),
                                         ("ask_unavailable", "I needed the budget figures")])
def test_a_comment_the_nlu_reads_as_a_refusal_is_still_the_comment(intent, text):
    comment = tracker(intent, 0.45, text=text)
    comment.slots["awaiting_comment"] = "prio_ibm"
    message, events = run(comment)
    assert message["text"] == CONTENT.message("feedback_comment_thanks", "en")
    assert feedback_slot(events)["comment"] == text and awaiting(events) is None


def test_a_question_after_a_thumbs_down_is_answered_not_taken_as_a_comment():
    question = tracker("ask_iom")
    question.slots["awaiting_comment"] = "prio_ibm"
    message, events = run(question)
    assert message["text"] == CONTENT.entries["iom_about"].answer["en"] and awaiting(events) is None


# ---------------------------------------------------------------------------------------------- contact

def test_contact_without_configured_details_says_so_and_invents_nothing():
    message, _ = run(tracker("ask_contact"))
    assert message["text"] == CONTENT.message("contact_none", "en") and "@" not in message["text"]


def test_contact_gives_the_configured_route():
    dispatcher = CollectingDispatcher()
    action = ActionAnswer(options=Options(contact_email="brussels@example.org", contact_url="https://example.org/c"))
    asyncio.run(action.run(dispatcher, tracker("ask_contact", language="fr"), {}))
    [message] = dispatcher.messages
    assert "[brussels@example.org](mailto:brussels@example.org) ou <https://example.org/c>" in message["text"]
    assert message["text"].startswith(CONTENT.message("contact", "fr", route="x").split("x")[0])


# ---------------------------------------------------------------------------------------------- details

def stated_facts(messages) -> List[str]:
    shown = " ".join([m["text"] or "" for m in messages]
                     + [b["title"] for m in messages for b in m.get("buttons") or []])
    return [marker for marker in FACT_MARKERS if marker.lower() in shown.lower()]


@pytest.mark.parametrize("intent, text, last", [
    ("ask_iom", "which of those 175 are EU countries?", "iom_about"),  # which ones, by name
    ("ask_iom", "and EU member states among them?", "iom_about"),
    ("ask_iom", "c'est quoi le nombre de garde-frontières formés par l'OIM ?", None),  # IOM's numbers count others
    ("ask_iom", "how many border guards has IOM trained?", None),
])
def test_names_and_counts_the_content_lacks_are_not_answered_with_its_numbers(intent, text, last):
    message, _ = run(tracker(intent, 0.8, text=text, last_entry=last))
    assert message["turn"]["kind"] == "no_detail" and stated_facts([message]) == []


@pytest.mark.parametrize("text, last, detail_lacking", [
    ("which institutions exactly?", "office_role", False),  # its answer is the most exact there is
    ("which member states exactly?", "iom_about", True),  # the content only counts them
    ("which NGOs exactly?", "partner_ngos", True),  # organisations of a type, by name
    ("quels pays exactement ?", "iom_about", True),
])
def test_exactly_asks_for_names_only_of_a_kind_of_thing(text, last, detail_lacking):
    message, _ = run(tracker("nlu_fallback", 0.4, text=text, last_entry=last))
    assert (message["turn"]["kind"] == "no_detail") is detail_lacking


@pytest.mark.parametrize("text, language", [("c'est vous qui le gérez ?", "fr"), ("is it run by you?", "en")])
def test_who_runs_a_hosted_project_is_its_entry(text, language):
    message, events = run(tracker("nlu_fallback", 0.3, text=text, last_entry="project_eurcap", language=language))
    assert slot(events) == "project_eurcap" and message["text"] == CONTENT.entries["project_eurcap"].answer[language]


def test_which_ones_after_one_partner_type_asks_for_names_the_content_lacks():
    message, events = run(tracker("nlu_fallback", 0.4, text="lesquelles ?", last_entry="partner_private_sector",
                                  language="fr"))
    assert message["turn"]["kind"] == "no_detail" and stated_facts([message]) == []


@pytest.mark.parametrize("intent, text, expected", [
    ("ask_office_aim", "its mission in one line?", "iom_about"),
    ("ask_office_role", "what does it do?", "iom_work"),
    ("ask_office_aim", "and the office's mission?", "office_aim"),  # names the office
])
def test_a_pronoun_after_iom_keeps_iom(intent, text, expected):
    _, events = run(tracker(intent, 0.8, text=text, last_entry="iom_about"))
    assert slot(events) == expected


def test_an_item_named_in_context_is_still_checked_for_the_detail_asked():
    message, events = run(tracker("ask_unavailable", 0.41, text="which countries had missions last year",
                                  last_entry="project_elections"))
    assert message["turn"]["kind"] == "no_detail" and stated_facts([message]) == []


@pytest.mark.parametrize("intent,subject,text,entry", [
    ("ask_projects", "eurcap", "When was EURCAP launched?", "project_eurcap"),
    ("ask_priorities", "border_management", "How much does the EU spend on border management?", "prio_ibm"),
    ("ask_partners", "trade_unions", "Which trade unions exactly does the office partner with?",
     "partner_trade_unions"),
    ("ask_projects", "elections", "Who leads the Election Support Unit?", "project_elections"),
    ("ask_projects", "elections", "Quelles élections l'OIM a-t-elle observées en 2024 ?", "project_elections"),
    ("ask_projects", None, "How many EU-funded projects does the office run?", "projects_overview"),
    ("ask_partners", "ngos", "any specific NGO names?", "partner_ngos"),
    ("ask_partners", "private_sector", "quelles entreprises ?", "partner_private_sector"),
    ("ask_iom", None, "how many staff does iom have worldwide?", "iom_about"),
    ("ask_iom", None, "combien de personnes travaillent à l'OIM ?", "iom_about"),
    ("ask_partners", "ngos", "which NGO exactly?", "partner_ngos"),
    # who pays, or whether they would pay us
    ("ask_projects", "eurcap", "who funds EURCAP?", "project_eurcap"),
    ("ask_office_support", None, "Can IOM fund our project?", "office_support"),
    ("ask_partners", "ngos", "vous financez des associations comme la nôtre ?", "partner_ngos"),
    ("ask_iom", None, "l'OIM est financée par qui ?", "iom_about"),
    ("ask_office_role", None, "c'est qui le boss là-bas ?", "office_role"),
])
def test_a_detail_the_entry_does_not_give_is_not_answered_with_it(intent, subject, text, entry):
    entities = [{"entity": "subject", "value": subject}] if subject else []
    message, events = run(tracker(intent, entities=entities, text=text))
    assert message["turn"]["kind"] == "no_detail"
    assert message["text"] == CONTENT.message("no_detail", "en") and slot(events) is None
    assert message["buttons"][0]["payload"] == CONTENT.entries[entry].payload  # "what I know on this topic"
    assert stated_facts([message]) == []  # nothing that looks like an answer, not even in a button


@pytest.mark.parametrize("intent,text,fact", [
    ("ask_history", "When was the office set up?", "September 2011"),
    ("ask_iom", "How many member states does IOM have?", "175"),
    ("ask_history", "IOM has been around since 1951, and the Brussels office since when?", "2011"),
    ("ask_iom", "What exactly is IOM?", "1951"),
    ("ask_iom", "how many memeber states does IOM have?", "175"),  # a misspelt count the entry gives
    ("ask_history", "How many years has the Brussels office been around?", "2011"),  # time: its date answers
    # French "quel est…" asks what, not which: not a request for names
    ("ask_office_role", "Pourriez-vous m'expliquer quel est exactement le rôle de votre bureau ?", "liaison"),
    ("ask_office_aim", "What does the office aim for when it comes to advocacy?", "advocacy"),
    # funding the office helps with, not funding asked for
    ("ask_office_support", "Our field office needs help with an EU-funded project, who can support us?", "EU-funded"),
    ("ask_office_support", "does the office support EU-funded projects?", "EU-funded"),
    ("ask_office_support", "who funds the projects the office helps IOM offices with?", "EU-funded"),
])
def test_a_detail_the_entry_gives_is_answered(intent, text, fact):
    message, _ = run(tracker(intent, text=text))
    assert fact in message["text"]


def test_how_many_partners_is_answered_with_the_count_first():
    messages, events = run_all(tracker("ask_partners", text="How many types of partners are there?"))
    assert [m["text"] for m in messages] == [CONTENT.message("count", "en", n=8),
                                             CONTENT.entries["partners_overview"].answer["en"]]
    messages, _ = run_all(tracker("ask_partners", text="How many areas of partnership are there?"))
    assert len(messages) == 1  # "areas" are not the listed items: no count, the answer names them


def test_when_was_it_launched_after_a_project_is_about_that_project():
    message, events = run(tracker("ask_history", text="when was it launched?", last_entry="project_eurcap"))
    assert message["text"] == CONTENT.message("no_detail", "en")
    assert message["buttons"][0]["payload"] == CONTENT.entries["project_eurcap"].payload


def test_and_the_office_after_a_when_question_asks_when_about_the_office():
    message, events = run(tracker("ask_office_role", text="and the Brussels office?", last_entry="iom_about",
                                  previous="When was IOM founded?"))
    assert slot(events) == "office_established"
    message, events = run(tracker("ask_office_role", text="and the Brussels office?", last_entry="iom_about",
                                  previous="What is IOM?"))
    assert slot(events) == "office_role"
    # "when" at the end asks when too
    message, events = run(tracker("ask_office_role", text="and the office itself?", last_entry="office_context",
                                  previous="the lisbon treaty was when"))
    assert slot(events) == "office_established"


def test_a_results_question_naming_a_subject_is_answered_by_that_result():
    message, events = run(tracker("ask_office_aim", entities=[{"entity": "subject", "value": "diaspora_development"}],
                                  text="What does the office aim for when it comes to diasporas?"))
    assert slot(events) == "prio_diaspora"


@pytest.mark.parametrize("text,entry", [("quel est le troisième type de partenaire ?", "partner_trade_unions"),
                                        ("fifth item in what you're working towards", "prio_avrr"),
                                        ("Quel est le premier résultat de la liste ?", "prio_safe_regular")])
def test_a_position_in_a_named_list_is_answered_even_when_the_nlu_is_unsure(text, entry):
    message, events = run(tracker("nlu_fallback", 0.3, text=text, fallback=FallbackReason.LOW_CONFIDENCE,
                                  ranking=[{"name": "nlu_fallback", "confidence": 0.4},
                                           {"name": "ask_unavailable", "confidence": 0.3}]))
    assert slot(events) == entry


def test_typed_complaint_without_a_topic_is_noted_not_welcomed():
    message, events = run(tracker("feedback", text="your last answer was wrong"))
    assert message["text"] == CONTENT.message("feedback_noted", "en") and message["buttons"]


# ---------------------------------------------------------------------------------------------- context rescue

@pytest.mark.parametrize("intent,text,entities,last,previous,expected", [
    ("nlu_fallback", "what about universities?", [{"entity": "subject", "value": "academia"}], "partner_ngos", None,
     "partner_academia"),
    ("nlu_fallback", "what does it stand for exactly", [], "project_eurcap", None, "project_eurcap"),
    ("out_of_scope", "et quel mois ?", [], "office_established", None, "office_established"),
    ("nlu_fallback", "non pardon je voulais dire le bureau de bruxelles", [], "iom_about",
     "quand l'OIM a-t-elle été fondée ?", "office_established"),
    ("ask_office_role", "no I meant the Brussels office, not IOM", [], "iom_about", "when was IOM founded?",
     "office_established"),
    # a short question for a detail of what was just said
    ("nlu_fallback", "which month?", [], "office_established", None, "office_established"),
    ("nlu_fallback", "what kind exactly", [], "project_elections", None, "project_elections"),
    ("nlu_fallback", "concretement, comment ?", [], "office_aim", None, "office_aim"),
])
def test_a_short_reply_the_nlu_cannot_place_is_read_in_context(intent, text, entities, last, previous, expected):
    message, events = run(tracker(intent, 0.3, entities=entities, text=text, last_entry=last, previous=previous,
                                  fallback=FallbackReason.LOW_CONFIDENCE if intent == "nlu_fallback" else None))
    assert slot(events) == expected


@pytest.mark.parametrize("intent,text", [("out_of_scope", "and what about the weather tomorrow?"),
                                         ("ask_unavailable", "and who leads it?"),
                                         ("out_of_scope", "which football team wins?"),
                                         ("nlu_fallback", "what budget does it have?"),
                                         ("nlu_fallback", "What is Frontex?"),  # a new question, not a detail
                                         ("nlu_fallback", "quel est ton nom ?")])
def test_context_does_not_turn_an_off_topic_reply_into_an_answer(intent, text):
    message, events = run(tracker(intent, text=text, last_entry="project_eurcap"))
    assert slot(events) is None


def test_the_second_to_last_item():
    message, events = run(tracker("nlu_fallback", 0.3, text="the second to last one?", last_entry="priorities_overview",
                                  fallback=FallbackReason.LOW_CONFIDENCE))
    assert slot(events) == CONTENT.entries["priorities_overview"].items[-2]


@pytest.mark.parametrize("text,language,expected", [
    ("just the first two please", "en", ["partner_eu", "partner_un"]),
    ("et les deux derniers ?", "fr", ["partner_regional_international", "partner_media"]),
    ("the last 3?", "en", ["partner_academia", "partner_ngos", "partner_regional_international", "partner_media"][1:]),
])
def test_several_items_of_the_list_are_answered_in_order(text, language, expected):
    messages, events = run_all(tracker("nlu_fallback", 0.3, text=text, last_entry="partners_overview",
                                       language=language, fallback=FallbackReason.LOW_CONFIDENCE))
    answers = [CONTENT.entries[i].answer[language] for i in expected]
    assert [m["text"] for m in messages] == ["\n\n".join(answers[:-1]), answers[-1]]
    assert slot(events) == expected[-1]


@pytest.mark.parametrize("text", ["what did you do in the last two years?", "les trois premiers mois ?",
                                  "what's the budget of the first two?"])
def test_a_range_inside_another_question_is_not_a_mention(text):
    from bot.answers.mentions import mentioned_range
    assert mentioned_range(text) is None
    assert mentioned_range("the first two please") == [1, 2] and mentioned_range("les 2 dernières ?") == [-2, -1]


def test_the_last_two_lines_of_one_entry_are_answered_once():
    # the priorities list ends with three climate results, all one entry
    messages, events = run_all(tracker("nlu_fallback", 0.3, text="the last two", last_entry="priorities_overview",
                                       fallback=FallbackReason.LOW_CONFIDENCE))
    assert [m["text"] for m in messages] == [CONTENT.entries["prio_environment"].answer["en"]]


@pytest.mark.parametrize("text,language", [
    ("could you answer in French please?", "fr"), ("can u reply in english", "en"), ("en français svp", "fr"),
    # the language asked for ("en français"), not the one merely named ("mon anglais")
    ("désolé, mon anglais est nul. vous pouvez répéter en français ?", "fr"), ("not in English: French", "fr"),
    ("English please, my colleague doesn't read French", "en"),
])
def test_a_switch_request_without_the_entity_takes_the_language_it_names(text, language):
    message, events = run_all(tracker("switch_language", text=text, language="en" if language == "fr" else "fr"))
    assert language_slot(events) == language


def test_a_position_after_an_answer_without_a_list_takes_its_follow_up_list():
    # "what are your goals?" -> the office's aim, whose follow-ups offer the results list
    message, events = run(tracker("nlu_fallback", 0.3, text="le sixieme svp", last_entry="office_aim",
                                  fallback=FallbackReason.LOW_CONFIDENCE))
    assert slot(events) == CONTENT.entries["priorities_overview"].items[5]


@pytest.mark.parametrize("text, language, question", [
    ("In French please: who are the partners?", "fr", "who are the partners?"),
    ("Ah pardon, je préfère en français finalement. Pourquoi cette date ?", "fr", "Pourquoi cette date ?"),
    ("Please answer in English. Who are the partners?", "en", "Who are the partners?"),
    ("pardon, je repasse en français : et elle date de quand ?", "fr", "et elle date de quand ?"),
    ("Thanks - switching back to English: who are the partners?", "en", "who are the partners?"),
    ("I moved to France last year. Who is IOM?", None, "I moved to France last year. Who is IOM?"),
    ("I read the page in French. What is EURCAP?", None, "I read the page in French. What is EURCAP?"),
    ("I usually speak to my partners in French. What is IOM?", None,
     "I usually speak to my partners in French. What is IOM?"),
    ("Please note our team works in French. Who is IOM?", None, "Please note our team works in French. Who is IOM?"),
    ("je préfère en français", None, "je préfère en français"),
])
def test_a_request_for_a_language_then_a_question_is_parted(text, language, question):
    from bot.answers.language import leading_request
    assert leading_request(text) == (language, question)


def test_a_language_requested_before_the_question_switches_and_answers_it():
    from bot.protocol import REQUESTED_LANGUAGE_KEY
    messages, events = run_all(tracker("ask_history", text="Depuis quand le bureau existe-t-il ?", language="en",
                                       metadata={REQUESTED_LANGUAGE_KEY: "fr"}))
    assert [m["text"] for m in messages] == [CONTENT.message("language_switched", "fr"),
                                             CONTENT.entries["office_established"].answer["fr"]]
    assert language_slot(events) == "fr"


@pytest.mark.parametrize("text,intent,position", [("le quatrième, c'est quoi ?", "out_of_scope", 3),
                                                  ("what's the second one about?", "out_of_scope", 1),
                                                  ("explique moi le cinquieme point", "ask_unavailable", 4)])
def test_a_short_position_the_nlu_put_out_of_scope_is_still_the_list_item(text, intent, position):
    items = CONTENT.entries["partners_overview"].items
    message, events = run(tracker(intent, confidence=0.6, text=text, last_entry="partners_overview"))
    assert slot(events) == items[position]


def test_a_question_for_what_the_seed_never_gives_is_not_read_as_about_the_topic():
    message, events = run(tracker("ask_unavailable", confidence=0.83, text="how many staff does it have in brussels?",
                                  last_entry="partners_overview"))
    assert message["text"].startswith(CONTENT.message("unavailable", "en").split(":")[0]) and slot(events) is None


def test_what_does_it_do_after_a_topic_is_about_the_topic_not_the_assistant():
    message, events = run(tracker("help", confidence=0.58, text="what does it do?", last_entry="office_role"))
    assert slot(events) == "office_role"
    message, events = run(tracker("help", confidence=0.9, text="what can you do?", last_entry="office_role"))
    assert message["text"] == CONTENT.message("help", "en")


# ---------------------------------------------------------------------------------------------- issue 11, round 3

@pytest.mark.parametrize("text", ["how?", "like what?", "on what exactly?", "liaison with whom exactly?", "pour qui ?",
                                  "comment ça ?", "c'est quel genre de cadre ?", "what kind of support?"])
def test_a_short_request_to_go_on_gives_more_on_the_topic(text):
    message, events = run(tracker("nlu_fallback", 0.3, text=text, last_entry="office_role",
                                  fallback=FallbackReason.LOW_CONFIDENCE))
    assert message["text"] == CONTENT.entries["office_role"].more["en"] and slot(events) == "office_role"


@pytest.mark.parametrize("intent,text", [("out_of_scope", "comment je peux faire un don ?"),
                                         ("nlu_fallback", "how are you today?"),
                                         ("ask_unavailable", "and for whom do the staff work?")])
def test_a_question_that_only_starts_like_a_follow_up_is_not_taken_as_one(intent, text):
    message, events = run(tracker(intent, 0.3, text=text, last_entry="office_role",
                                  fallback=FallbackReason.LOW_CONFIDENCE if intent == "nlu_fallback" else None))
    assert slot(events) is None and "more" not in message["turn"]["kind"]


@pytest.mark.parametrize("text,position", [("et le 7", 7), ("le 9 ?", 9), ("3", 3)])
def test_a_bare_number_after_a_list_is_that_item(text, position):
    message, events = run(tracker("goodbye", 0.6, text=text, last_entry="priorities_overview"))
    assert slot(events) == CONTENT.entries["priorities_overview"].items[position - 1]


def test_when_the_nlu_hesitates_between_two_answers_to_two_questions_both_are_given():
    ranking = [{"name": "ask_history", "confidence": 0.45}, {"name": "ask_history_why", "confidence": 0.4}]
    messages, events = run_all(tracker("nlu_fallback", 0.4, text="when was it set up and why?", ranking=ranking,
                                       fallback=FallbackReason.AMBIGUOUS))
    assert [m["text"] for m in messages] == [CONTENT.entries["office_established"].answer["en"],
                                             CONTENT.entries["office_context"].answer["en"]]
    # One question the NLU hesitates on is still asked back ("did you mean").
    messages, _ = run_all(tracker("nlu_fallback", 0.4, text="when was it set up?", ranking=ranking,
                                  fallback=FallbackReason.AMBIGUOUS))
    assert messages[0]["turn"]["kind"] == "did_you_mean"


def test_an_unsure_question_naming_what_a_list_lists_gets_the_list():
    ranking = [{"name": "ask_priorities", "confidence": 0.37}, {"name": "ask_projects", "confidence": 0.11}]
    message, events = run(tracker("nlu_fallback", 0.4, text="What is the office working towards?", ranking=ranking,
                                  fallback=FallbackReason.LOW_CONFIDENCE))
    assert slot(events) == "priorities_overview"


@pytest.mark.parametrize("text", ["what is the office's address?", "c'est quoi l'adresse du bureau ?",
                                  "office phone number?", "where exactly is the office located?"])
def test_an_address_or_phone_is_never_answered_with_the_topic(text):
    message, events = run(tracker("ask_office_role", text=text))
    assert message["turn"]["kind"] == "no_detail" and stated_facts([message]) == []


def test_how_do_you_address_a_topic_is_not_a_question_about_an_address():
    message, events = run(tracker("ask_priorities", text="how do you address mobility in crisis situations?",
                                  entities=[{"entity": "subject", "value": "crisis"}]))
    assert message["turn"]["kind"] == "answer"


@pytest.mark.parametrize("intent", ["ask_iom", "nlu_fallback"])
def test_what_does_that_acronym_stand_for_is_about_the_topic_whatever_the_nlu_says(intent):
    message, events = run(tracker(intent, 0.6, text="what does that acronym stand for", last_entry="prio_avrr"))
    assert slot(events) == "prio_avrr" and "Assisted Voluntary Return" in message["text"]


# ---------------------------------------------------------------------------------------------- round 4

@pytest.mark.parametrize("text, item", [
    ("What does the office say about solidarity with affected populations?", "prio_protection_space"),
    ("et la solidarité avec les pays d'accueil ?", "prio_protection_space"),
    ("any work on social cohesion and inclusion?", "prio_inclusion"),
])
def test_a_list_question_naming_one_item_by_its_own_words_gets_that_item(text, item):
    message, events = run(tracker("ask_priorities", text=text))
    assert slot(events) == item


@pytest.mark.parametrize("text", [
    "what are your priorities for Europe?", "what are your priorities on migration?",
    # a long message meets an item's word in passing ("preparing" / the crisis result's "preparedness")
    "We are preparing a joint funding proposal with our network and want to know which outcomes the Brussels "
    "office is pushing for in European policy. Could you summarise them?",
])
def test_general_words_never_pick_an_item(text):
    message, events = run(tracker("ask_priorities", text=text))
    assert slot(events) == "priorities_overview"


@pytest.mark.parametrize("text", ["Which sectors does GO Brussels have partnerships with?",
                                  "quels types de secteurs sont vos partenaires ?"])
def test_a_plural_after_which_asks_for_the_list_not_the_item_it_names(text):
    # "sector" is the private sector's own word, but "which sectors" asks for all of them
    _, events = run(tracker("ask_partners", text=text))
    assert slot(events) == "partners_overview"
    _, events = run(tracker("ask_partners", text="what about the private sector?"))
    assert slot(events) == "partner_private_sector"


def test_another_item_named_after_one_item_and_it_stays_on_the_topic():
    _, events = run(tracker("ask_priorities", text="and the solidarity one?", last_entry="prio_crisis"))
    assert slot(events) == "prio_protection_space"
    # "so it's an election thing?" after EURCAP is about EURCAP, not the Election Support Unit.
    _, events = run(tracker("ask_projects", text="so it's an election thing?", last_entry="project_eurcap"))
    assert slot(events) != "project_elections"


@pytest.mark.parametrize("text", ["Is Belgium one of IOM's member states?", "La Belgique est-elle membre de l'OIM ?",
                                  "How many IOM offices are there in Africa?", "In what year did IOM join the UN?",
                                  "What was IOM called when it was first created?", "In which city was IOM founded?",
                                  "Which countries joined IOM most recently?"])
def test_a_place_or_event_the_content_never_names_is_not_answered_with_iom(text):
    message, _ = run(tracker("ask_iom", text=text))
    assert message["turn"]["kind"] == "no_detail" and stated_facts([message]) == []


@pytest.mark.parametrize("text", ["When was IOM founded?", "How long has IOM been around?",
                                  "what does IOM do in Europe?", "IOM in the world?",
                                  "I work for an NGO in Africa. When was IOM founded?"])
def test_dates_it_gives_and_places_it_names_are_still_answered(text):
    message, _ = run(tracker("ask_iom", text=text))
    assert message["turn"]["kind"] == "answer"


def test_a_region_is_answered_by_an_entry_that_speaks_of_the_whole_world():
    message, _ = run(tracker("ask_office_support", text="does the office support IOM offices in Africa?"))
    assert message["turn"]["kind"] == "answer"


@pytest.mark.parametrize("intent, text", [
    ("ask_partners", "how could my NGO become a partner? is there an application form?"),
    ("ask_partners", "Existe-t-il un appel à partenariats en cours ?"),
    ("ask_projects", "who do I ping for EURCAP"),
    ("ask_history", "What was the exact day in September 2011 when the liaison was established?"),
])
def test_procedures_contacts_and_exact_days_are_details_the_content_lacks(intent, text):
    message, _ = run(tracker(intent, text=text))
    assert message["turn"]["kind"] == "no_detail"


@pytest.mark.parametrize("text", ["what are your goals", "quels sont vos objectifs ?"])
def test_goals_in_the_plural_get_the_aim_and_then_the_results(text):
    messages, events = run_all(tracker("ask_office_aim", text=text))
    assert len(messages) == 2 and slot(events) == "priorities_overview"
    assert "forefront" in messages[0]["text"] or "premier plan" in messages[0]["text"]
    # the aim in the singular is the aim alone
    message, events = run(tracker("ask_office_aim", text="what is the office's aim?"))
    assert slot(events) == "office_aim"


@pytest.mark.parametrize("text", ["why?", "pourquoi ?"])
def test_why_alone_after_one_result_goes_on_about_that_result(text):
    messages, events = run_all(tracker("ask_history_why", text=text, last_entry="prio_integrated_return"))
    assert messages[-1]["turn"]["kind"] == "more" and slot(events) == "prio_integrated_return"


def test_a_pronoun_follow_up_classified_as_the_list_stays_on_the_item():
    message, events = run(tracker("ask_priorities", text="et ça s'applique à tous les migrants ?",
                                  last_entry="prio_avrr"))
    assert slot(events) == "prio_avrr"


@pytest.mark.parametrize("text", ["sur quelle base ?", "dans quel but ?", "on what basis?", "c'est quoi l'approche ?",
                                  "C'est intégré dans quoi ?", "to what end?"])
def test_more_ways_of_asking_to_go_on(text):
    message, events = run(tracker("nlu_fallback", 0.3, text=text, last_entry="office_aim",
                                  fallback=FallbackReason.LOW_CONFIDENCE))
    assert message["turn"]["kind"] == "more"


@pytest.mark.parametrize("text", ["not the third", "nothing", "a second please", "none of them", "items"])
def test_words_that_begin_like_a_position_word_are_not_a_bare_position(text):
    assert not bare(text)

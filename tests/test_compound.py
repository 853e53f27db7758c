"""Two questions in one message (bot/channels/compound.py): where a message is cut, when it is answered as
consecutive turns, and that a channel then runs one turn per question. The live bot's answers to such
messages are checked in tests/test_integration.py."""
from __future__ import annotations

import asyncio

import pytest

from bot.answers.content_store import load_content
from bot.channels import compound
from bot.channels.rest import HardenedRestInput
from bot.settings import Settings
from tests.support import ChannelApp, FakeRasa, new_sender

CONTENT = load_content()


@pytest.mark.parametrize("text, expected", [
    ("who are your partners and what are your priorities?", ["who are your partners", "what are your priorities?"]),
    ("What is IOM? Who are your partners?", ["What is IOM", "Who are your partners?"]),
    ("l'OIM a été créée quand, et la liaison avec l'UE date de quand ?",
     ["l'OIM a été créée quand", "la liaison avec l'UE date de quand ?"]),
    ("what's EURCAP and who hosts it; how many member states does IOM have",
     ["what's EURCAP", "who hosts it", "how many member states does IOM have"]),
])
def test_a_second_question_is_cut_off(text, expected):
    assert compound.parts(text) == expected


@pytest.mark.parametrize("text", [
    "when was it set up and why?",  # "why?" alone cannot be placed: the NLU reads the whole
    "do you work on AVRR and on climate migration?",  # one question about two things
    "policy development and programme implementation",
    "quand et pourquoi la liaison a-t-elle été mise en place ?",
    "Thanks! What is EURCAP?",
    "what is the role of the office in Brussels",
    "",
])
def test_one_question_stays_whole(text):
    assert compound.parts(text) == [text]


def parser(readings):
    async def parse(text):
        intent, subject = readings[text]
        entities = [{"entity": "subject", "value": subject}] if subject else []
        return {"intent": {"name": intent, "confidence": 0.9}, "entities": entities}
    return parse


def split(text, readings):
    return asyncio.run(compound.split(text, parser(readings), CONTENT))


def test_parts_about_different_entries_are_answered_one_after_the_other():
    readings = {"what's EURCAP": ("ask_projects", "eurcap"), "who are your partners?": ("ask_partners", None)}
    assert split("what's EURCAP and who are your partners?", readings) == list(readings)


@pytest.mark.parametrize("second", [("nlu_fallback", None), ("out_of_scope", None), ("greet", None),
                                    ("ask_projects", "eurcap")])
def test_a_part_the_nlu_cannot_place_or_the_same_entry_keeps_the_message_whole(second):
    text = "what's EURCAP and what is that readmission facility?"
    readings = {"what's EURCAP": ("ask_projects", "eurcap"), "what is that readmission facility?": second}
    assert split(text, readings) == [text]


def test_without_a_parser_nothing_is_split():
    text = "what's EURCAP and who are your partners?"
    assert asyncio.run(compound.split(text, None, CONTENT)) == [text]


def test_the_rest_channel_runs_one_turn_per_question_and_returns_every_reply():
    rasa = FakeRasa()
    channel = HardenedRestInput().configure(Settings().replace(client_messages_per_minute=0,
                                                               conversation_messages_per_minute=0))
    app = ChannelApp([channel], rasa)
    try:
        app.app.ctx.agent.parse_message = parser({"what's EURCAP": ("ask_projects", "eurcap"),
                                                  "who are your partners?": ("ask_partners", None)})
        sender = new_sender()
        response = app.post("/webhooks/rest/webhook",
                            json={"sender": sender, "message": "what's EURCAP and who are your partners?"})
        assert response.status_code == 200
        assert [m["text"] for m in response.json()] == ["echo: what's EURCAP", "echo: who are your partners?"]
        assert [m.sender_id for m in rasa.received] == [f"rest:{sender}"] * 2
        # A message that is not two questions is one turn, as typed.
        app.post("/webhooks/rest/webhook", json={"sender": sender, "message": "when was it set up and why?"})
        assert rasa.received[-1].text == "when was it set up and why?" and len(rasa.received) == 3
    finally:
        app.close()


# ---------------------------------------------------------------------------------------------- introductions

@pytest.mark.parametrize("text, asking", [
    ("Hello, I work for a humanitarian NGO. Could you explain whether the office works on crisis situations?",
     "Could you explain whether the office works on crisis situations?"),
    ("I'm a journalist. When was the office set up?", "When was the office set up?"),
    ("Dear team, I'm researching EU border policy for my thesis. What is your position on border management? "
     "Thank you.", "What is your position on border management?"),
    ("Bonjour, je suis journaliste. Pouvez-vous me dire ce que fait l'OIM en général ?",
     "Pouvez-vous me dire ce que fait l'OIM en général ?"),
    ("Madame, Monsieur, dans le cadre de mon mémoire sur l'UE. Je travaille sur la migration. "
     "Qui sont vos partenaires ?",
     "Qui sont vos partenaires ?"),
])
def test_the_asking_sentences_follow_an_introduction_of_the_visitor(text, asking):
    assert compound.asking_sentences(text) == asking


@pytest.mark.parametrize("text", [
    "What is IOM? Who are your partners?",  # no introduction
    "IOM is big. What is EURCAP?",  # a statement about something else may be what the question is about
    "I see. And why?",  # too short to introduce anyone
    "I work for an NGO and want to know your partners.",  # one sentence
    "I work for an NGO. Tell me about your partners.",  # no sentence asks
    "I'm an official at an EU agency and wondered whether it is in your scope. Could you clarify?",  # it asks
    "I keep hearing the term AVRR in meetings. Could you tell me what it stands for?",  # "it" is in the intro
    "Je suis étudiante et le climat m'intéresse. Pouvez-vous m'en dire plus ?",
])
def test_a_message_not_shaped_as_introduction_then_question_has_no_asking_part(text):
    assert compound.asking_sentences(text) is None


def test_the_asking_sentences_replace_the_message_only_when_the_nlu_places_them():
    text = "I'm a student in Leuven. What does the office do?"
    placed = parser({"What does the office do?": ("ask_office_role", None), text: ("ask_office_role", None)})
    assert asyncio.run(compound.without_introduction(text, placed)) == "What does the office do?"
    unplaced = parser({"What does the office do?": ("nlu_fallback", None), text: ("ask_office_role", None)})
    assert asyncio.run(compound.without_introduction(text, unplaced)) == text
    assert asyncio.run(compound.without_introduction(text, None)) == text


def test_the_message_stays_whole_when_its_introduction_names_one_of_the_questions_topics():
    text = "I'm researching AVRR for my thesis. What does the office work towards?"
    readings = {"What does the office work towards?": ("ask_priorities", None), text: ("ask_priorities", "avrr")}
    assert compound.asking_sentences(text) == "What does the office work towards?"
    assert asyncio.run(compound.without_introduction(text, parser(readings), CONTENT)) == text


def test_an_introduction_naming_the_visitors_affiliation_is_dropped():
    # The NGO is where the visitor works; read whole, the message was answered with the NGO partners.
    text = ("Hello, I'm a programme officer with a refugee-support NGO in Ghent. We'd like to understand what "
            "outcomes the office is pushing for. Could you summarise?")
    question = "We'd like to understand what outcomes the office is pushing for. Could you summarise?"
    readings = {question: ("ask_priorities", None), text: ("ask_priorities", "ngos")}
    assert asyncio.run(compound.without_introduction(text, parser(readings), CONTENT)) == question


def test_a_question_naming_its_own_subject_drops_the_introduction():
    text = "Good morning, I work in DG HOME on return policy. What is IOM's line on return at EU level?"
    question = "What is IOM's line on return at EU level?"
    readings = {question: ("ask_priorities", "avrr"), text: ("ask_partners", "eu_institutions")}
    assert asyncio.run(compound.without_introduction(text, parser(readings), CONTENT)) == question


@pytest.mark.parametrize("text, asking", [
    ("Good evening. I'm Tom, I volunteer at a drop-in centre. I'm trying to understand how IOM thinks about "
     "integration. Does the office work on that?",
     "I'm trying to understand how IOM thinks about integration. Does the office work on that?"),
    ("Bonjour, je suis bénévole dans un centre d'accueil. Que fait l'OIM pour les personnes les plus fragiles ?",
     "Que fait l'OIM pour les personnes les plus fragiles ?"),
])
def test_what_is_asked_after_the_introduction_may_span_sentences(text, asking):
    assert compound.asking_sentences(text) == asking


@pytest.mark.parametrize("text,readings,expected", [
    # the greeting outweighs the question: the question alone
    ("bonjour qu'est ce que l'OIM", {"bonjour qu'est ce que l'OIM": ("nlu_fallback", None),
                                     "qu'est ce que l'OIM": ("ask_iom", None)}, "qu'est ce que l'OIM"),
    ("hi there what is eurcap", {"hi there what is eurcap": ("greet", None),
                                 "what is eurcap": ("ask_projects", "eurcap")}, "what is eurcap"),
    # the whole is understood: kept as it is
    ("Hello, when was the office founded?", {"Hello, when was the office founded?": ("ask_history", None)},
     "Hello, when was the office founded?"),
    # the rest is not a question either: kept
    ("salut toi", {"salut toi": ("greet", None)}, "salut toi"),
    ("bonjour à tous les deux", {"bonjour à tous les deux": ("greet", None), "les deux": ("nlu_fallback", None)},
     "bonjour à tous les deux"),
    # no greeting first
    ("high hopes for the office?", {}, "high hopes for the office?"),
])
def test_a_greeting_run_into_the_question_is_set_aside_when_it_outweighs_it(text, readings, expected):
    assert asyncio.run(compound.without_greeting(text, parser(readings))) == expected
    assert asyncio.run(compound.without_greeting(text, None)) == text

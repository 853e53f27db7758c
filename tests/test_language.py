"""Which language a message is in (bot/nlu/language.py: LanguageClassifier, trained here on the project's own
NLU data as `rasa train` does; `guess_language` for replies sent before NLU) and which language to answer in
(bot/answers/language.py)."""
from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from bot.answers.language import FIRST_MESSAGE_CONFIDENCE, LanguageChoice, choose_language, served
from bot.nlu.language import CONFIDENT, TERM_CONFIDENCE, LanguageClassifier, clean, example_language, guess_language
from bot.protocol import LANGUAGE_KEY, DetectedLanguage
from bot.settings import ROOT

ENGLISH = ["When was the Brussels office established?", "Who are the partners of IOM in Brussels?",
           "What does the office do?", "Can I speak to a human?", "tell me more", "why then?",
           "What are the office's priorities for 2024?", "I work for an NGO, can you tell me about AVRR?"]
FRENCH = ["Quand le bureau de Bruxelles a-t-il été créé ?", "Quels sont les partenaires du bureau ?",
          "Que fait l'OIM à Bruxelles ?", "quand a ete cree le bureau", "Je voudrais parler à quelqu'un",
          "dis m'en plus", "ça date de quand ?", "Quelles sont les priorités du bureau pour 2024 ?"]
OTHER = {"Wanneer werd het kantoor in Brussel opgericht?": "nl", "Wann wurde das Büro in Brüssel gegründet?": "de",
         "¿Cuándo se creó la oficina de Bruselas?": "es"}
NO_LANGUAGE = ["ok", "merci", "oui", "yes", "salut", "hello", "thanks!", "EURCAP?", "IOM", "2011", "👍",
               "https://www.iom.int", "", "   ", "AVRR and EURCAP", "brussels@iom.int", "?!"]


@pytest.fixture(scope="module")
def storage(tmp_path_factory):
    """(directory, resource, context) of the trained component."""
    return tmp_path_factory.mktemp("language"), Resource("language"), ExecutionContext(GraphSchema({}), "test")


@pytest.fixture(scope="module")
def training():
    return load_data(str(ROOT / "data" / "nlu"))


@pytest.fixture(scope="module")
def classifier(storage, training) -> LanguageClassifier:
    directory, resource, context = storage
    component = LanguageClassifier.create({}, LocalModelStorage(directory), resource, context)
    component.train(training)
    return component


def test_training_examples_are_labelled_by_their_declared_language(training):
    labels = [example_language(e) for e in training.intent_examples]
    assert {"en", "fr", "nl", "de", "es", "it", "pt", "pl"} <= set(labels)
    assert labels.count("en") > 500 and labels.count("fr") > 500


@pytest.mark.parametrize("text", ENGLISH)
def test_english_visitor_messages_are_reliably_english(classifier, text):
    detected = classifier.detect(text)
    assert (detected.language, detected.reliable) == ("en", True), detected
    assert detected.confidence >= CONFIDENT


@pytest.mark.parametrize("text", FRENCH)
def test_french_visitor_messages_are_reliably_french(classifier, text):
    detected = classifier.detect(text)
    assert (detected.language, detected.reliable) == ("fr", True), detected


@pytest.mark.parametrize("text,language", OTHER.items())
def test_other_languages_are_recognised(classifier, text, language):
    assert classifier.detect(text) == DetectedLanguage(language, classifier.detect(text).confidence, True)


@pytest.mark.parametrize("text", NO_LANGUAGE)
def test_short_or_ambiguous_messages_give_no_confident_language(classifier, text):
    assert not classifier.detect(text).reliable


@pytest.mark.parametrize("text,language", [("agenda 2030 oim", "fr"), ("OIM Bruxelles = ?", "fr"), ("ONG ?", "fr"),
                                           ("IOM?", "en"), ("ngos eu", "en")])
def test_a_name_only_one_language_uses_starts_the_conversation_in_it_but_never_switches_one(classifier, text,
                                                                                           language):
    detected = classifier.detect(text)
    assert (detected.language, detected.reliable) == (language, False), detected
    assert detected.confidence >= TERM_CONFIDENCE > FIRST_MESSAGE_CONFIDENCE
    assert choose_language(None, detected).reply == language  # a first message
    other = "en" if language == "fr" else "fr"
    assert choose_language(other, detected).reply == other  # within a conversation


def test_the_names_of_both_languages_together_say_nothing(classifier):
    assert classifier.detect("IOM = OIM ?") == DetectedLanguage("en", 0.0, False)


def test_names_do_not_overrule_the_words_around_them(classifier):
    detected = classifier.detect("EU projets ?")  # French enough (0.73) to outweigh "EU"
    assert (detected.language, detected.reliable) == ("fr", False) and detected.confidence > TERM_CONFIDENCE
    assert classifier.detect("agenda https://iom.int") == classifier._detect("agenda https://iom.int")  # a link


def test_trained_persisted_and_loaded_it_detects_exactly_the_same(classifier, storage):
    directory, resource, context = storage
    loaded = LanguageClassifier.load({}, LocalModelStorage(directory), resource, context)  # from disk
    for text in [*ENGLISH, *FRENCH, *OTHER, *NO_LANGUAGE]:
        assert loaded.detect(text) == classifier.detect(text)
    message = Message(data={"text": FRENCH[0]})
    loaded.process([message])
    assert message.get(LANGUAGE_KEY) == classifier.detect(FRENCH[0]).to_dict()
    assert DetectedLanguage.from_parse_data(message.as_dict()) == classifier.detect(FRENCH[0])


def test_without_a_trained_model_everything_counts_as_english(tmp_path):
    storage, resource = LocalModelStorage(tmp_path), Resource("never-trained")
    component = LanguageClassifier.load({}, storage, resource, ExecutionContext(GraphSchema({}), "test"))
    assert component.detect(FRENCH[0]) == DetectedLanguage("en", 0.0, False)


def test_what_carries_no_language_is_removed_first():
    text = "What is IOM? See https://www.iom.int or mail brussels@iom.int (since 2011)!"
    assert clean(text) == "What is See or mail since"
    assert clean("eurcap et l'OIM à Bruxelles") == "et l' à"  # this domain's names, typed any way


# ---------------------------------------------------------------------------------------------- before NLU

@pytest.mark.parametrize("text,hint,expected", [
    ("anything", "fr-FR", "fr"), ("anything", "FR", "fr"), ("Quand le bureau a-t-il été créé ?", "en", "en"),
    ("Quand le bureau de Bruxelles a-t-il été créé ?", None, "fr"),
    ("Quand le bureau de Bruxelles a-t-il été créé ?", "de-DE", "fr"),  # a hint we do not answer in is ignored
    ("When was the Brussels office established?", None, "en"),
    ("Wann wurde das Büro in Brüssel gegründet?", None, "en"),  # a language we do not answer in: the default
    ("merci", None, "en"), ("EURCAP?", None, "en"), ("", None, "en"),
])
def test_the_language_of_replies_sent_before_nlu(text, hint, expected):
    assert guess_language(text, hint) == expected


# ---------------------------------------------------------------------------------------------- reply language

def detected(language: str, confidence: float = 0.95, reliable: bool = True) -> DetectedLanguage:
    return DetectedLanguage(language, confidence, reliable)


@pytest.mark.parametrize("current,seen,hint,requested,expected", [
    (None, detected("fr"), None, None, LanguageChoice("fr")),  # a first French question
    ("en", detected("fr"), None, None, LanguageChoice("fr")),  # a later French question switches
    ("fr", detected("en", 0.6, False), None, None, LanguageChoice("fr")),  # "ok" keeps the conversation's
    (None, detected("en", 0.0, False), "fr-BE", None, LanguageChoice("fr")),  # "EURCAP?" in a French page/locale
    ("en", detected("en", 0.0, False), "fr", None, LanguageChoice("en")),  # the conversation's beats the hint
    (None, detected("fr", 0.85, False), None, None, LanguageChoice("fr")),  # "salut": likely enough to start
    (None, detected("fr", 0.49, False), None, None, LanguageChoice("fr")),  # "Tu es un robot ?": the likeliest
    (None, detected("fr", 0.41, False), None, None, LanguageChoice("fr")),
    (None, detected("fr", 0.39, False), None, None, LanguageChoice("en")),  # too unsure: the default
    ("fr", detected("en"), None, "en", LanguageChoice("en")),  # "in English please"
    ("en", detected("en"), None, "fr", LanguageChoice("fr")),  # the widget's Français button
    ("en", detected("en"), None, "de", LanguageChoice("en")),  # a switch to a language we do not answer in
    ("fr", detected("nl"), None, None, LanguageChoice("fr", other="nl")),  # Dutch: answered in French, noted
    (None, detected("de"), "fr-FR", None, LanguageChoice("fr", other="de")),
    (None, None, None, None, LanguageChoice("en")),
    ("es", None, None, None, LanguageChoice("en")),  # a stored language we no longer answer in
])
def test_the_reply_language(current, seen, hint, requested, expected):
    assert choose_language(current, seen, hint, requested) == expected


@pytest.mark.parametrize("code,expected", [("fr", "fr"), ("fr-BE", "fr"), ("fr_CA", "fr"), ("EN-us", "en"),
                                           ("nl", None), ("", None), (None, None), ("french", None)])
def test_served_languages(code, expected):
    assert served(code) == expected

"""bot.nlu.tfidf_intent_classifier.TfidfIntentClassifier: trains, saves as plain data, loads to the same
predictions, blends with DIET."""
from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.tfidf_intent_classifier import TfidfIntentClassifier

EXAMPLES = {"ask_history": ["when was the office established", "when did the office open", "founding date",
                            "what year was the brussels office set up"],
            "ask_partners": ["who are your partners", "which organisations do you work with",
                             "do you work with trade unions", "partner organisations"],
            "greet": ["hello", "hi there", "good morning", "hey"]}


@pytest.fixture
def trained(tmp_path):
    storage, resource = LocalModelStorage(tmp_path), Resource("tfidf")
    context = ExecutionContext(GraphSchema({}), "test")
    component = TfidfIntentClassifier.create({}, storage, resource, context)
    component.train(TrainingData([Message(data={"text": t, "intent": i}) for i, ts in EXAMPLES.items() for t in ts]))
    return component, storage, resource, context


def classify(component, text, ranking=None):
    message = Message(data={"text": text, **({"intent_ranking": ranking} if ranking else {})})
    component.process([message])
    return message


def test_classifies_unseen_phrasings_and_ranks_every_intent(trained):
    component = trained[0]
    assert classify(component, "when was it opened").get("intent")["name"] == "ask_history"
    assert classify(component, "who do you partner with").get("intent")["name"] == "ask_partners"
    ranking = classify(component, "hello!").get("intent_ranking")
    assert [r["name"] for r in ranking][0] == "greet" and len(ranking) == 3
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)


def test_loaded_model_predicts_exactly_what_the_trained_one_did(trained):
    component, storage, resource, context = trained
    loaded = TfidfIntentClassifier.load({}, storage, resource, context)
    for text in ("when was it opened", "trade unions?", "hi", "something else entirely"):
        assert classify(loaded, text).get("intent_ranking") == classify(component, text).get("intent_ranking")


def test_blends_with_the_previous_classifiers_ranking(trained):
    component, storage, resource, context = trained
    blending = TfidfIntentClassifier.load({"blend_with_previous": 0.5}, storage, resource, context)
    ours = {r["name"]: r["confidence"] for r in classify(component, "hello").get("intent_ranking")}
    diet = [{"name": "ask_partners", "confidence": 1.0}]
    blended = {r["name"]: r["confidence"] for r in classify(blending, "hello", diet).get("intent_ranking")}
    assert blended["ask_partners"] == pytest.approx(0.5 + 0.5 * ours["ask_partners"])
    assert blended["greet"] == pytest.approx(0.5 * ours["greet"])


def test_a_model_trained_without_intents_loads_as_a_pass_through(tmp_path):
    storage, resource = LocalModelStorage(tmp_path), Resource("empty")
    context = ExecutionContext(GraphSchema({}), "test")
    component = TfidfIntentClassifier.create({}, storage, resource, context)
    component.train(TrainingData([]))
    loaded = TfidfIntentClassifier.load({}, storage, resource, context)
    message = classify(loaded, "hello", [{"name": "greet", "confidence": 0.9}])
    assert message.get("intent") is None  # leaves earlier classifiers' result alone


def test_training_data_passes_through_with_its_labels(trained):
    """Registered as a featurizer too (so Rasa trains it before the encoder classifier): the examples that go on
    to the next components keep their own intents, not this classifier's predictions."""
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    component, *_ = trained
    data = TrainingData([Message(data={"text": "hello there partners", "intent": "greet"})])
    assert component.process_training_data(data) is data
    assert data.training_examples[0].get("intent") == "greet" and not data.training_examples[0].get("intent_ranking")
    registered = DefaultV1Recipe._from_registry(TfidfIntentClassifier.__module__ + ".TfidfIntentClassifier")
    assert DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER in registered.types

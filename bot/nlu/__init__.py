"""Our Rasa NLU components."""
from bot.nlu.tfidf_intent_classifier import TfidfIntentClassifier  # noqa: F401

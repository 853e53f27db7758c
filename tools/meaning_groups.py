"""Unanswered questions grouped by meaning, for `make report` and `make review`.

Turns are first gathered into `Wording`s (the same text up to case and punctuation: `wording_key`), then
wordings are clustered by meaning: the sentence encoder (bot/nlu/encoder.py, multilingual, so a French and
an English wording of one question can meet) gives unit vectors, and agglomerative clustering with average
linkage joins wordings while the mean cosine distance between two clusters stays under `max_distance`.
Average linkage does not chain (a cluster's every wording must be close to the other's on average), and the
input is sorted, so the groups are deterministic. The default distance was chosen on e5-small's compressed
similarities: paraphrases score 0.88-0.95, unrelated questions about the office 0.75-0.87.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, Iterable, List, Optional, Sequence, TextIO, Tuple

import numpy as np

from tools.conversations import Outcome, Progress, Turn, most_common
from tools.training_data import wording_key

DEFAULT_DISTANCE = 0.12
MAX_CLUSTERED = 3000  # wordings clustered (the most asked); rarer ones beyond it each stay a group of their own
ENCODE_CHUNK = 256


@dataclass(frozen=True)
class Wording:
    """One question, asked once or more (its most frequent spelling is `text`)."""
    key: str
    text: str
    language: str
    turns: Tuple[Turn, ...]

    @property
    def count(self) -> int:
        return len(self.turns)


@dataclass(frozen=True)
class Group:
    number: int  # 1 = asked most
    wordings: Tuple[Wording, ...]  # most asked first

    @property
    def anchor(self) -> str:
        return f"group-{self.number}"

    @property
    def turns(self) -> List[Turn]:
        return sorted((t for w in self.wordings for t in w.turns), key=lambda t: (t.at, t.conversation))

    @property
    def count(self) -> int:
        return sum(w.count for w in self.wordings)

    @property
    def first_seen(self) -> datetime:
        return min(t.at for w in self.wordings for t in w.turns)

    @property
    def last_seen(self) -> datetime:
        return max(t.at for w in self.wordings for t in w.turns)

    @property
    def languages(self) -> Dict[str, int]:
        return dict(Counter(t.language for t in self.turns).most_common())

    @property
    def outcomes(self) -> Dict[Outcome, int]:
        return dict(Counter(t.outcome for t in self.turns).most_common())

    @property
    def closest_intents(self) -> List[Tuple[str, float]]:
        """Intents by the NLU's mean confidence over the group's turns, most likely first."""
        totals: Dict[str, float] = defaultdict(float)
        for turn in self.turns:
            for intent, confidence in turn.ranking:
                totals[intent] += confidence
        return sorted(((i, c / self.count) for i, c in totals.items()), key=lambda ic: (-ic[1], ic[0]))


def wordings_of(turns: Iterable[Turn]) -> List[Wording]:
    """The turns gathered by wording, sorted by key."""
    by_key: Dict[str, List[Turn]] = defaultdict(list)
    for turn in turns:
        key = wording_key(turn.text)
        if key:
            by_key[key].append(turn)
    return [Wording(key, most_common([t.text for t in turns]), most_common([t.language for t in turns]),
                    tuple(turns)) for key, turns in sorted(by_key.items())]


def _vectors(texts: Sequence[str], progress: Progress) -> np.ndarray:
    from bot.nlu.encoder import load_encoder
    encoder = load_encoder()
    chunks = []
    for start in range(0, len(texts), ENCODE_CHUNK):
        chunks.append(encoder.encode(texts[start:start + ENCODE_CHUNK]))
        if len(texts) > ENCODE_CHUNK:
            progress.show(f"grouping by meaning: {min(start + ENCODE_CHUNK, len(texts)):,} of {len(texts):,} "
                          "questions")
    progress.done()
    return np.concatenate(chunks)


def _clusters(vectors: np.ndarray, max_distance: float) -> List[int]:
    from scipy.cluster.hierarchy import fcluster, linkage
    if len(vectors) < 2:
        return [1] * len(vectors)
    tree = linkage(vectors.astype(np.float64), method="average", metric="cosine")
    return [int(label) for label in fcluster(tree, t=max_distance, criterion="distance")]


def group_by_meaning(turns: Iterable[Turn], max_distance: float = DEFAULT_DISTANCE,
                     progress: Optional[TextIO] = None) -> List[Group]:
    """The unanswered questions among `turns`, grouped, the most asked group first; progress on `progress`."""
    wordings = wordings_of(t for t in turns if t.unanswered)
    clustered = sorted(wordings, key=lambda w: (-w.count, w.key))[:MAX_CLUSTERED]
    clustered.sort(key=lambda w: w.key)
    members: Dict[object, List[Wording]] = defaultdict(list)
    if clustered:
        labels = _clusters(_vectors([w.text for w in clustered], Progress(progress)), max_distance)
        for wording, label in zip(clustered, labels, strict=True):
            members[label].append(wording)
    chosen = {w.key for w in clustered}
    for wording in wordings:
        if wording.key not in chosen:
            members[wording.key].append(wording)
    ranked = sorted((sorted(ws, key=lambda w: (-w.count, w.key)) for ws in members.values()),
                    key=lambda ws: (-sum(w.count for w in ws), min(t.at for w in ws for t in w.turns), ws[0].key))
    return [Group(number, tuple(ws)) for number, ws in enumerate(ranked, start=1)]

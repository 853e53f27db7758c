"""Per-client and per-conversation limits, applied by every channel before a turn (bot/channels/base.py).

- `RateLimiter`: a token bucket per key (client address, conversation): `per_minute` tokens a minute, in
  bursts of a quarter of that. Written here rather than taken from a library (`limits`, `aiolimiter`):
  it is 30 lines, runs inside the event loop with no lock, and must bound its own memory — the keys are
  chosen by clients, so at most `max_keys` buckets are kept and the least recently used one is dropped
  (a dropped bucket is a full one, which is what an idle client has anyway).
- `TurnQueue`: how many turns of one conversation are waiting or running in this process; over the cap a
  new one is refused, so one visitor cannot stack up work (each waiting turn holds memory and, in the
  scale profile, polls Redis).
With several replicas these limits are per process; nginx (`make scale-up`) adds per-address limits in
front of them (tools/nginx.conf.template).
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Tuple

MAX_KEYS = 10_000
BURST_SHARE = 4  # a bucket holds a quarter of a minute's allowance


class RateLimiter:
    def __init__(self, per_minute: int, max_keys: int = MAX_KEYS) -> None:
        self.rate = per_minute / 60.0  # tokens per second
        self.capacity = max(1.0, per_minute / BURST_SHARE)
        self.max_keys = max_keys
        self._buckets: "OrderedDict[str, Tuple[float, float]]" = OrderedDict()  # key -> (tokens, updated)

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def retry_after(self, key: str, now: Optional[float] = None) -> Optional[int]:
        """Takes a token for `key`: None when allowed, else the seconds to wait before the next one."""
        if not self.enabled:
            return None
        now = time.monotonic() if now is None else now
        tokens, updated = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - updated) * self.rate)
        allowed = tokens >= 1
        self._buckets[key] = (tokens - 1 if allowed else tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return None if allowed else max(1, math.ceil((1 - tokens) / self.rate))


class TurnQueue:
    def __init__(self, max_per_conversation: int) -> None:
        self.max = max_per_conversation
        self._active: Dict[str, int] = {}

    @contextmanager
    def slot(self, conversation: str) -> Iterator[bool]:
        """Yields True when the conversation may queue one more turn (and holds the place until the end)."""
        active = self._active.get(conversation, 0)
        if active >= self.max:
            yield False
            return
        self._active[conversation] = active + 1
        try:
            yield True
        finally:
            remaining = self._active[conversation] - 1
            if remaining:
                self._active[conversation] = remaining
            else:
                del self._active[conversation]

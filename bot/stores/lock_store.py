"""A Redis lock store whose tickets are atomic, so several Rasa replicas serve a conversation in order.

Rasa 3.6's RedisLockStore keeps a conversation's lock as one JSON value and issues a ticket with GET,
modify, SET (rasa#9213): two replicas can read the same value and hand out the same ticket, and then both
process a turn of the same conversation at once (tests/test_scale.py shows it). It also polls once a
second and uses a blocking Redis client inside Sanic's event loop.

Here every step is one atomic Redis operation (Lua scripts run atomically):
- issue:   INCR the conversation's counter -> ticket n; add n to a sorted set (the queue); SET a per-ticket
           key that expires after `lock_lifetime` seconds. While its turn waits or runs, the replica renews
           the key every lifetime/3 (heartbeat), so a turn may take any time, and a replica that dies holding
           a ticket blocks the conversation for at most `lock_lifetime` seconds.
- acquire: the lowest ticket in the queue whose key still exists is served; expired heads are dropped.
- release: remove the ticket from the queue and delete its key.
Waiting tickets poll with the asyncio Redis client, from every `poll_interval` seconds backing off to
`MAX_POLL_INTERVAL_S`, so a queue of waiting turns does not hammer Redis.
A holder that stalls past `lock_lifetime` (its renewals could not run or failed) has lost its place: the
next turn may already be running. The heartbeat notices (the renewal finds the ticket gone) and marks the
turn, and the tracker store refuses to save it (`check_lock_held`), so two turns never interleave their
events; the visitor of the stalled turn is told to try again, or, if the answer went out, the log says
the turn was not saved.

endpoints (scale profile): `lock_store: {type: bot.stores.lock_store.TicketRedisLockStore, url, port, db,
password, key_prefix, lock_lifetime, poll_interval}`.
"""
from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import AsyncGenerator, Dict, Optional, Text

import redis
import redis.asyncio as aioredis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LockError, LockStore
from rasa.utils.endpoints import EndpointConfig
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry as SyncRetry

log = logging.getLogger(__name__)
DEFAULT_LOCK_LIFETIME_S = 3.0  # how long a dead replica can hold a conversation; live ones renew
RENEWALS_PER_LIFETIME = 3  # a live holder renews its ticket this often per lifetime
QUEUE_LIFETIMES = 4  # an idle conversation's counter and queue expire after this many lifetimes
DEFAULT_POLL_INTERVAL_S = 0.01
MAX_POLL_INTERVAL_S = 0.25  # the back-off's ceiling while a turn waits for its ticket
DEFAULT_SOCKET_TIMEOUT_S = 5.0

ISSUE = """
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], n, n)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('SET', ARGV[1] .. n, 1, 'PX', ARGV[3])
return n
"""
# 1: the caller's ticket is served now; 0: wait; -1: the caller's ticket expired (lost its place).
ACQUIRE = """
while true do
  local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if head == false or head == nil then return -1 end
  if redis.call('EXISTS', ARGV[1] .. head) == 1 then
    if head == ARGV[2] then return 1 end
    if redis.call('EXISTS', ARGV[1] .. ARGV[2]) == 0 then
      redis.call('ZREM', KEYS[1], ARGV[2])
      return -1
    end
    return 0
  end
  redis.call('ZREM', KEYS[1], head)
end
"""
RENEW = """
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return redis.call('SET', ARGV[1] .. ARGV[2], 1, 'PX', ARGV[4], 'XX')
"""
RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('DEL', ARGV[1] .. ARGV[2])
return redis.call('ZCARD', KEYS[1])
"""


class LockLost(RuntimeError):
    """This turn's conversation lock expired while it ran: its work must not be saved."""


@dataclass
class _Hold:
    conversation_id: str
    ticket: int
    expires_at: float  # monotonic time by which the ticket's key expires unless renewed
    lost: bool = False

    @property
    def valid(self) -> bool:
        return not self.lost and time.monotonic() < self.expires_at


_current_hold: ContextVar[Optional[_Hold]] = ContextVar("iom_lock_hold", default=None)


def check_lock_held() -> None:
    """Raises LockLost when the turn running in this task held a conversation lock and lost it."""
    hold = _current_hold.get()
    if hold is not None and not hold.valid:
        raise LockLost(f"lock ticket {hold.ticket} expired before the turn finished")


class TicketRedisLockStore(LockStore):
    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs) -> None:
        options: Dict = {**(endpoint_config.kwargs if endpoint_config else {}), **kwargs}
        self.connection = dict(host=(endpoint_config.url if endpoint_config else None) or options.get("host")
                               or "localhost", port=int(options.get("port", 6379)), db=int(options.get("db", 1)),
                               password=options.get("password") or None,
                               socket_timeout=float(options.get("socket_timeout", DEFAULT_SOCKET_TIMEOUT_S)),
                               socket_connect_timeout=float(options.get("socket_timeout", DEFAULT_SOCKET_TIMEOUT_S)))
        self.prefix = f"{options.get('key_prefix') or 'iom'}:lock:"
        self.lock_lifetime = float(options.get("lock_lifetime", DEFAULT_LOCK_LIFETIME_S))
        self.poll_interval = float(options.get("poll_interval", DEFAULT_POLL_INTERVAL_S))
        self.sync = redis.Redis(**self.connection, retry_on_error=[redis.ConnectionError],
                                retry=SyncRetry(NoBackoff(), 1))
        self.sync.ping()  # fail at start-up, naming Redis, rather than on the first message
        self._clients: Dict[int, aioredis.Redis] = {}
        super().__init__()

    def _keys(self, conversation_id: Text):
        base = self.prefix + conversation_id
        return base + ":next", base + ":queue", base + ":ticket:"

    def _client(self) -> aioredis.Redis:
        """One asyncio client per event loop (each Sanic worker has its own)."""
        loop = id(asyncio.get_running_loop())
        if loop not in self._clients:
            # One retry on a broken connection: after a Redis restart the first command on a pooled
            # connection fails; the retry reconnects, so the turn is served instead of refused.
            self._clients[loop] = aioredis.Redis(**self.connection, retry_on_error=[redis.ConnectionError],
                                                 retry=AsyncRetry(NoBackoff(), 1))
        return self._clients[loop]

    def _ms(self, seconds: float) -> int:
        return max(1, int(seconds * 1000))

    def _issue_args(self, conversation_id: Text):
        counter, queue, ticket_prefix = self._keys(conversation_id)
        return (ISSUE, 2, counter, queue, ticket_prefix, self._ms(QUEUE_LIFETIMES * self.lock_lifetime),
                self._ms(self.lock_lifetime))

    async def issue(self, conversation_id: Text) -> int:
        return int(await self._client().eval(*self._issue_args(conversation_id)))

    async def release(self, conversation_id: Text, ticket: int) -> None:
        _, queue, ticket_prefix = self._keys(conversation_id)
        await self._client().eval(RELEASE, 1, queue, ticket_prefix, ticket)

    @asynccontextmanager
    async def lock(self, conversation_id: Text, lock_lifetime: float = 0,
                   wait_time_in_seconds: float = 0) -> AsyncGenerator[TicketLock, None]:
        # Rasa passes its own defaults (60 s lifetime, 1 s polling); ours come from the endpoint config.
        issued_at = time.monotonic()
        try:
            ticket = await self.issue(conversation_id)
        except redis.RedisError as exc:
            log.error("LOCK STORE UNAVAILABLE: cannot issue a ticket (%s: %s)", type(exc).__name__, exc)
            raise LockError(f"Redis lock store unavailable: {exc}") from exc
        hold = _Hold(conversation_id, ticket, issued_at + self.lock_lifetime)
        heartbeat = asyncio.ensure_future(self._renew_until_cancelled(hold))
        token = _current_hold.set(hold)  # the turn runs in this task: the tracker store checks the hold
        try:
            await self._acquire(conversation_id, ticket)
            yield TicketLock(conversation_id)
        finally:
            _current_hold.reset(token)
            heartbeat.cancel()
            try:
                await asyncio.shield(self.release(conversation_id, ticket))
            except (redis.RedisError, asyncio.CancelledError) as exc:  # the ticket expires on its own
                log.warning("could not release lock ticket %s (%s); it expires in %.0f s", ticket, exc,
                            self.lock_lifetime)

    async def _renew_until_cancelled(self, hold: _Hold) -> None:
        counter, queue, ticket_prefix = self._keys(hold.conversation_id)
        while True:
            await asyncio.sleep(self.lock_lifetime / RENEWALS_PER_LIFETIME)
            sent_at = time.monotonic()
            try:
                renewed = await self._client().eval(RENEW, 2, counter, queue, ticket_prefix, hold.ticket,
                                                    self._ms(QUEUE_LIFETIMES * self.lock_lifetime),
                                                    self._ms(self.lock_lifetime))
            except redis.RedisError as exc:  # the turn itself will report Redis being down
                log.warning("could not renew lock ticket %s (%s)", hold.ticket, exc)
                continue
            if renewed is None:  # SET ... XX found no key: the ticket expired while we stalled
                hold.lost = True
                log.error("LOCK LOST: ticket %s expired (the turn stalled over %.1f s); the turn will not be saved",
                          hold.ticket, self.lock_lifetime)
                return
            hold.expires_at = sent_at + self.lock_lifetime

    async def _acquire(self, conversation_id: Text, ticket: int) -> None:
        _, queue, ticket_prefix = self._keys(conversation_id)
        started = time.monotonic()
        wait = self.poll_interval
        while True:
            try:
                state = int(await self._client().eval(ACQUIRE, 1, queue, ticket_prefix, ticket))
            except redis.RedisError as exc:
                log.error("LOCK STORE UNAVAILABLE while waiting for a ticket (%s: %s)", type(exc).__name__, exc)
                raise LockError(f"Redis lock store unavailable: {exc}") from exc
            if state == 1:
                return
            if state == -1:
                raise LockError(f"lock ticket {ticket} expired after {time.monotonic() - started:.1f} s of waiting")
            await asyncio.sleep(wait)
            wait = min(MAX_POLL_INTERVAL_S, wait * 2)

    # The synchronous LockStore interface, for callers other than `lock()` (none in Rasa 3.6's server path).
    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = 0) -> int:
        # Our lifetime, not the caller's: tickets are renewed at lifetime/3 by lock() (see the module docstring).
        return int(self.sync.eval(*self._issue_args(conversation_id)))

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        _, queue, ticket_prefix = self._keys(conversation_id)
        self.sync.eval(RELEASE, 1, queue, ticket_prefix, ticket_number)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        self.finish_serving(conversation_id, ticket_number)

    def is_someone_waiting(self, conversation_id: Text) -> bool:
        return self.sync.zcard(self._keys(conversation_id)[1]) > 0

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        return TicketLock(conversation_id) if self.is_someone_waiting(conversation_id) else None

    def delete_lock(self, conversation_id: Text) -> None:
        self.sync.delete(*self._keys(conversation_id)[:2])

    def save_lock(self, lock: TicketLock) -> None:  # state lives in Redis, changed only atomically
        return None

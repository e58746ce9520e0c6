"""Redis cache of single read-model documents, never older than what projectors applied.

Projectors write a document's ready-to-send JSON after applying an event, and
queries read it before MongoDB. Each entry carries the stream version it was
built from, and a Lua script refuses any write that is not newer, so a slow
read-through of an old document can never replace what a projector wrote
later; a deletion leaves a versioned tombstone for the same reason. The cache
only saves work: when Redis is down every operation degrades to a miss, and
callers go to MongoDB.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

import structlog
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from read_side.breaker import CircuitBreaker, CircuitOpen

T = TypeVar("T")

_MAX_CONNECTIONS = 128
"""More than the requests one process has in flight under load (B2 runs 64): a request
that waits for a pooled connection queues behind the others, and with 50 that queue
alone made B2's p99 226 ms against 112 ms now. Redis serves thousands of clients."""
_SCAN_BATCH = 500
_MAX_MISSED = 100_000
"""Past this many lost writes, recovery evicts the whole namespace instead."""
_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)

# KEYS[1] = key; ARGV = version, ttl in ms[, body]. No body writes a tombstone.
_PUT_IF_NEWER = """
local stored = redis.call('HGET', KEYS[1], 'v')
if stored and tonumber(stored) >= tonumber(ARGV[1]) then
  return 0
end
if ARGV[3] then
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'b', ARGV[3])
else
  redis.call('HSET', KEYS[1], 'v', ARGV[1])
  redis.call('HDEL', KEYS[1], 'b')
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


@dataclass(frozen=True, slots=True)
class CacheHit:
    """A cached entry; ``body`` is None for a tombstone: deleted at ``version``."""

    version: int
    body: bytes | None


def redis_breaker(failure_threshold: int = 5, reset_timeout: float = 30.0) -> CircuitBreaker:
    """A breaker that counts only connection failures and timeouts: an error reply from
    Redis means it answered."""
    return CircuitBreaker(
        "redis",
        failures=_UNAVAILABLE,
        failure_threshold=failure_threshold,
        reset_timeout=reset_timeout,
    )


class DocumentCache:
    """Versioned documents under ``{namespace}:{kind}:{id}``; never raises when Redis fails.

    Every call goes through ``breaker``: once it opens, Redis is skipped (a miss,
    a skipped write) until a probe finds it back, so an outage costs a few
    timeouts, not one per request.
    """

    def __init__(
        self,
        redis: Redis,
        namespace: str,
        *,
        ttl_seconds: float = 300,
        breaker: CircuitBreaker | None = None,
        enabled: bool = True,
    ) -> None:
        self.enabled = enabled
        """False: every call answers its fallback (a miss, no write) without Redis."""
        self._ttl_ms = int(ttl_seconds * 1000)
        if self._ttl_ms < 1:
            raise ValueError("ttl_seconds must be at least one millisecond")
        self._redis = redis
        self._namespace = namespace
        self.breaker = breaker or redis_breaker()
        self._put_if_newer = redis.register_script(_PUT_IF_NEWER)
        self._available = True
        self._missed: set[str] = set()
        self._missed_overflow = False
        self._log = structlog.get_logger("tasktrail.cache").bind(namespace=namespace)

    @classmethod
    async def connect(
        cls,
        url: str,
        namespace: str,
        *,
        ttl_seconds: float = 300,
        breaker: CircuitBreaker | None = None,
        enabled: bool = True,
        timeout_seconds: float = 0.25,
    ) -> DocumentCache:
        """Build a client that fails fast, without redis-py's retries, and probe it once.

        A burst of callers waits for a pooled connection instead of failing as
        an outage, as redis-py's default pool would past its size; waiting
        longer than a socket timeout does count as one. The probe only logs an
        outage at start; it never fails the caller.
        """
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=_MAX_CONNECTIONS,
            timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            socket_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 0),
        )
        redis = Redis.from_pool(pool)
        cache = cls(redis, namespace, ttl_seconds=ttl_seconds, breaker=breaker, enabled=enabled)
        await cache.ping()
        return cache

    @property
    def available(self) -> bool:
        """Whether the last attempt to reach Redis succeeded."""
        return self._available

    async def ping(self) -> bool:
        async def ping() -> bool:
            return await self._redis.ping()

        return await self._guarded(ping, False)

    async def get(self, kind: str, id: str | UUID) -> CacheHit | None:
        async def read() -> list[bytes | str | None]:
            return await self._redis.hmget(self._key(kind, id), "v", "b")

        missing: list[bytes | str | None] = [None, None]
        version, body = await self._guarded(read, missing)
        if version is None:
            return None
        assert not isinstance(body, str), "the client must not decode responses"
        return CacheHit(int(version), body)

    async def put(self, kind: str, id: str | UUID, version: int, body: bytes) -> bool:
        """Store ``body`` unless an entry at ``version`` or newer exists; True if written."""
        return await self._put(self._key(kind, id), version, body)

    async def put_tombstone(self, kind: str, id: str | UUID, version: int) -> bool:
        """Mark the document deleted, so an older read-through cannot bring it back."""
        return await self._put(self._key(kind, id), version)

    async def evict(self, kind: str, id: str | UUID) -> None:
        async def unlink() -> None:
            await self._redis.unlink(self._key(kind, id))

        await self._guarded(unlink, None)

    async def evict_all(self, kind: str) -> None:
        """Drop every cached document of ``kind``, after a rebuild replaced them all."""
        pattern = f"{_glob_escape(self._namespace)}:{_glob_escape(kind)}:*"

        async def unlink_all() -> None:
            cursor = 0
            while True:
                cursor, keys = await self._redis.scan(cursor, match=pattern, count=_SCAN_BATCH)
                if keys:
                    await self._redis.unlink(*keys)
                if cursor == 0:
                    return

        await self._guarded(unlink_all, None)

    async def close(self) -> None:
        await self._redis.aclose()

    def _key(self, kind: str, id: str | UUID) -> str:
        return f"{self._namespace}:{kind}:{id}"

    async def _put(self, key: str, version: int, *body: bytes) -> bool:
        async def put() -> bool:
            args: list[int | bytes] = [version, self._ttl_ms, *body]
            return bool(await self._put_if_newer(keys=[key], args=args))

        return await self._guarded(put, False, writing=key)

    async def _evict_missed(self) -> None:
        """Unlinks entries whose newer write was lost to an outage: they would be stale."""
        if self._missed_overflow:
            pattern = f"{_glob_escape(self._namespace)}:*"
            cursor = 0
            while True:
                cursor, keys = await self._redis.scan(cursor, match=pattern, count=_SCAN_BATCH)
                if keys:
                    await self._redis.unlink(*keys)
                if cursor == 0:
                    break
        missed = list(self._missed)
        for start in range(0, len(missed), _SCAN_BATCH):
            await self._redis.unlink(*missed[start : start + _SCAN_BATCH])
        self._missed.clear()
        self._missed_overflow = False

    def _miss_write(self, key: str | None) -> None:
        if key is None:
            return
        if len(self._missed) >= _MAX_MISSED:
            self._missed_overflow = True
        else:
            self._missed.add(key)

    async def _guarded(
        self, operation: Callable[[], Awaitable[T]], fallback: T, *, writing: str | None = None
    ) -> T:
        """Run ``operation``, or answer ``fallback`` while Redis is down or refuses it.

        A write lost to an outage is remembered, and its key evicted before
        anything else once Redis answers again.
        """
        if not self.enabled:
            return fallback
        try:
            with self.breaker.guard():
                if self._missed or self._missed_overflow:
                    await self._evict_missed()
                result = await operation()
        except CircuitOpen:
            self._miss_write(writing)
            return fallback
        except _UNAVAILABLE as error:
            self._miss_write(writing)
            if self._available:
                self._available = False
                self._log.warning(
                    "cache_unavailable", error=repr(error), breaker=self.breaker.snapshot()
                )
            return fallback
        except RedisError as error:
            self._log.warning("cache_error", error=repr(error))
            return fallback
        if not self._available:
            self._available = True
            self._log.info("cache_available")
        return result


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)

"""The document cache against the real Redis: version guard, TTL, eviction, outages."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterator
from uuid import uuid4

import pytest
from redis.asyncio import Redis
from structlog.testing import capture_logs

from read_side.breaker import BreakerState
from read_side.cache import CacheHit, DocumentCache, redis_breaker
from tests.support.tcp_proxy import TcpProxy

REDIS_URL = "redis://127.0.0.1:6379/0"
TTL = 60


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def namespace(redis: Redis) -> AsyncIterator[str]:
    """A namespace of the test's own; its keys, and those of namespaces it prefixes, go after."""
    namespace = f"test_{uuid4().hex[:10]}"
    yield namespace
    keys = [key async for key in redis.scan_iter(match=f"{namespace}*", count=1000)]
    if keys:
        await redis.unlink(*keys)


@pytest.fixture
async def cache(namespace: str) -> AsyncIterator[DocumentCache]:
    # Generous, so that a loaded CI machine tests the ordering rules, not the timeout.
    cache = await DocumentCache.connect(REDIS_URL, namespace, ttl_seconds=TTL, timeout_seconds=5)
    yield cache
    await cache.close()


def body(version: int) -> bytes:
    return f'{{"version":{version}}}'.encode()


async def test_a_miss_then_a_hit(cache: DocumentCache) -> None:
    assert await cache.get("user", "u1") is None

    assert await cache.put("user", "u1", 1, body(1))

    assert await cache.get("user", "u1") == CacheHit(1, body(1))
    assert cache.available


@pytest.mark.parametrize("stale", [2, 3])
async def test_an_older_or_equal_version_never_replaces_a_newer_one(
    cache: DocumentCache, stale: int
) -> None:
    await cache.put("task", "t1", 3, body(3))

    assert not await cache.put("task", "t1", stale, b'{"stale":true}')

    assert await cache.get("task", "t1") == CacheHit(3, body(3))


async def test_a_newer_version_replaces_an_older_one(cache: DocumentCache) -> None:
    await cache.put("task", "t1", 3, body(3))

    assert await cache.put("task", "t1", 4, body(4))

    assert await cache.get("task", "t1") == CacheHit(4, body(4))


async def test_every_write_sets_the_ttl(cache: DocumentCache, redis: Redis, namespace: str) -> None:
    await cache.put("user", "u1", 1, body(1))
    await redis.persist(f"{namespace}:user:u1")

    await cache.put("user", "u1", 2, body(2))

    assert 0 < await redis.pttl(f"{namespace}:user:u1") <= TTL * 1000


async def test_a_tombstone_blocks_older_puts_but_not_newer_ones(
    cache: DocumentCache, redis: Redis, namespace: str
) -> None:
    uid = uuid4()
    await cache.put("user", uid, 1, body(1))

    assert await cache.put_tombstone("user", uid, 2)
    assert not await cache.put("user", uid, 1, body(1))
    assert not await cache.put_tombstone("user", uid, 2)
    assert await cache.get("user", uid) == CacheHit(2, None)
    assert 0 < await redis.pttl(f"{namespace}:user:{uid}") <= TTL * 1000

    assert await cache.put("user", uid, 3, body(3))
    assert await cache.get("user", uid) == CacheHit(3, body(3))


async def test_evict_removes_one_document(cache: DocumentCache) -> None:
    await cache.put("user", "u1", 1, body(1))
    await cache.put("user", "u2", 1, body(1))

    await cache.evict("user", "u1")

    assert await cache.get("user", "u1") is None
    assert await cache.get("user", "u2") == CacheHit(1, body(1))


async def test_evict_all_removes_that_kind_in_that_namespace_only(
    cache: DocumentCache, redis: Redis, namespace: str
) -> None:
    """More keys than one SCAN batch; another namespace starting with this one survives."""
    other = DocumentCache(redis, f"{namespace}_other")
    async with redis.pipeline(transaction=False) as pipe:
        for n in range(1_200):
            pipe.hset(f"{namespace}:task:{n}", mapping={"v": 1, "b": body(1)})
        await pipe.execute()
    await cache.put("user", "u1", 1, body(1))
    await other.put("task", "t1", 1, body(1))

    await cache.evict_all("task")

    assert [key async for key in redis.scan_iter(match=f"{namespace}:task:*")] == []
    assert await cache.get("user", "u1") == CacheHit(1, body(1))
    assert await other.get("task", "t1") == CacheHit(1, body(1))


async def test_concurrent_puts_leave_exactly_the_highest_version(cache: DocumentCache) -> None:
    versions = [random.randint(1, 1_000) for _ in range(200)]

    written = await asyncio.gather(*(cache.put("task", "t1", v, body(v)) for v in versions))

    assert any(written)
    assert await cache.get("task", "t1") == CacheHit(max(versions), body(max(versions)))


async def test_an_unexpected_redis_error_is_a_miss_not_an_outage(
    cache: DocumentCache, redis: Redis, namespace: str
) -> None:
    await redis.set(f"{namespace}:user:u1", "not a hash")

    with capture_logs() as logs:
        assert await cache.get("user", "u1") is None
        assert not await cache.put("user", "u1", 1, body(1))

    assert cache.available
    assert [entry["event"] for entry in logs] == ["cache_error", "cache_error"]


async def test_an_unreachable_redis_degrades_to_misses_without_raising(namespace: str) -> None:
    cache = await DocumentCache.connect("redis://127.0.0.1:1/0", namespace)
    try:
        assert not cache.available
        started = time.monotonic()
        assert await cache.get("user", "u1") is None
        assert not await cache.put("user", "u1", 1, body(1))
        assert not await cache.put_tombstone("user", "u1", 1)
        await cache.evict("user", "u1")
        await cache.evict_all("user")
        assert not await cache.ping()
        assert time.monotonic() - started < 0.05
        assert cache.breaker.state is BreakerState.OPEN
    finally:
        await cache.close()


async def test_the_breaker_opens_after_five_failures_and_then_redis_is_not_tried(
    silent_server: int, namespace: str
) -> None:
    cache = await DocumentCache.connect(f"redis://127.0.0.1:{silent_server}/0", namespace)
    try:
        for _ in range(4):  # the probe at connect was the first
            assert cache.breaker.state is BreakerState.CLOSED
            assert await cache.get("user", "u1") is None

        assert cache.breaker.snapshot() == {"state": "open", "consecutive_failures": 5}
        started = time.monotonic()
        assert await cache.get("user", "u1") is None
        assert time.monotonic() - started < 0.05
    finally:
        await cache.close()


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never answers, like a hung Redis."""

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def test_a_hung_redis_costs_one_timeout_then_is_skipped(
    silent_server: int, namespace: str
) -> None:
    started = time.monotonic()
    cache = await DocumentCache.connect(
        f"redis://127.0.0.1:{silent_server}/0", namespace, breaker=redis_breaker(1)
    )
    try:
        assert 0.2 < time.monotonic() - started < 1.0
        assert not cache.available

        started = time.monotonic()
        assert await cache.get("user", "u1") is None
        assert not await cache.put("user", "u1", 1, body(1))
        assert time.monotonic() - started < 0.05
    finally:
        await cache.close()


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy("127.0.0.1", 6379)
    yield proxy.start()
    proxy.close()


async def test_an_outage_logs_once_and_the_cache_recovers(proxy: TcpProxy, namespace: str) -> None:
    with capture_logs() as logs:
        cache = await DocumentCache.connect(
            f"redis://127.0.0.1:{proxy.port}/0", namespace, breaker=redis_breaker(1, 0.2)
        )
        try:
            assert await cache.put("user", "u1", 1, body(1))
            proxy.cut()
            assert await cache.get("user", "u1") is None
            await asyncio.sleep(0.25)
            assert not await cache.put("user", "u1", 2, body(2))
            assert not cache.available

            proxy.start()
            await asyncio.sleep(0.25)
            # The write of version 2 was lost, so version 1 would now be stale: it is gone.
            assert await cache.get("user", "u1") is None
            assert cache.available
            assert await cache.put("user", "u1", 2, body(2))
            assert await cache.get("user", "u1") == CacheHit(2, body(2))
        finally:
            await cache.close()

    events = [(entry["log_level"], entry["event"]) for entry in logs]
    assert events == [("warning", "cache_unavailable"), ("info", "cache_available")]

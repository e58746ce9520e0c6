"""TASKTRAIL_CACHE_ENABLED=false: queries and projector writes never reach Redis.

Redis is pointed at a port where nothing listens, so any attempt would count
as a failure on the cache's circuit breaker; the enabled control case shows it does.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from cli.processes import open_read_side
from common.settings import Settings
from common.tokens import TokenCodec
from read_side.api.app import create_query_app
from read_side.bootstrap import ReadSide
from read_side.positions import LocalCheckpoints
from read_side.postgres import PostgresReadStore
from read_side.store import REV, Changes
from read_side.tables import USERS

NOWHERE = "redis://127.0.0.1:1/0"
"""Nothing listens on port 1: every Redis call would fail to connect."""


async def _read_side(store: PostgresReadStore, enabled: bool) -> tuple[ReadSide, str]:
    namespace = f"test_{uuid.uuid4().hex[:10]}"
    settings = Settings(env="test", redis_url=NOWHERE, namespace=namespace, cache_enabled=enabled)
    user = str(uuid.uuid4())
    await store.create([USERS])
    document = {"id": user, "username": "ada", "version": 1, REV: 1}
    await store.commit(Changes(puts={USERS: {user: document}}))
    return await open_read_side(settings, store, LocalCheckpoints()), user


@pytest.fixture
async def disabled(read_store: PostgresReadStore) -> AsyncIterator[tuple[ReadSide, str]]:
    read_side, user = await _read_side(read_store, enabled=False)
    yield read_side, user
    await read_side.cache.close()


async def _get_user(read_side: ReadSide, user: str) -> httpx.Response:
    tokens = TokenCodec.from_settings(Settings(env="test"))
    app = create_query_app(read_side, tokens)
    token = tokens.issue(uuid.uuid4(), "admin")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://t",
        headers={"Authorization": f"Bearer {token}"},
    ) as api:
        return await api.get(f"/api/v1/users/{user}")


async def test_queries_are_answered_from_the_store_without_redis(
    disabled: tuple[ReadSide, str],
) -> None:
    read_side, user = disabled

    for _ in range(3):  # a read-through would have filled the cache after the first
        response = await _get_user(read_side, user)
        assert response.status_code == 200, response.text
        assert response.json()["username"] == "ada"

    assert read_side.cache.breaker.consecutive_failures == 0
    assert read_side.cache.available


async def test_projector_writes_are_skipped(disabled: tuple[ReadSide, str]) -> None:
    read_side, user = disabled

    assert not await read_side.cache.put("user", user, 2, b"{}")
    assert not await read_side.cache.put_tombstone("user", user, 3)
    assert await read_side.cache.get("user", user) is None
    assert read_side.cache.breaker.consecutive_failures == 0


async def test_an_enabled_cache_does_try_redis(read_store: PostgresReadStore) -> None:
    """The control: the same query with the cache on reaches for the dead Redis."""
    read_side, user = await _read_side(read_store, enabled=True)
    try:
        assert (await _get_user(read_side, user)).status_code == 200
        assert read_side.cache.breaker.consecutive_failures > 0
    finally:
        await read_side.cache.close()

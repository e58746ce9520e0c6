"""Fixtures that build real infrastructure.

Each session gets a PostgreSQL database (the event store, and the read store in
its schema ``read``), a RabbitMQ exchange and queues, and Redis keys of its own
(the namespace), and removes them afterwards. Tests that need a read store of their
own get a fresh schema from ``read_store``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import aio_pika
import httpx
import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.sql import SQL, Identifier
from redis.asyncio import Redis

from cli.asgi import CombinedApp
from cli.processes import Background, background, open_read_side
from common.settings import Settings
from common.tokens import TokenCodec
from projections.catalog import NAMES
from projections.runtime import dead_letter_queue_name, queue_name
from read_side.api.app import create_query_app
from read_side.cache import CacheHit, DocumentCache
from read_side.generations import Generations, cache_kind
from read_side.positions import LocalCheckpoints
from read_side.postgres import PostgresReadStore
from read_side.store import ReadStore
from tests.support.actors import as_admin
from tests.support.stores import fresh_store
from write_side.api.app import create_command_app
from write_side.bootstrap import WriteSide, bootstrap
from write_side.broker import exchange_name
from write_side.commands import TrackActivity

BASE_DSN = os.environ.get(
    "TASKTRAIL_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    """Settings for a database and namespace of this session's own, dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    dbname = f"tasktrail_test_{suffix}"
    yield Settings(
        env="test",
        postgres_dsn=make_conninfo(BASE_DSN, dbname=dbname),
        namespace=f"test_{suffix}",
        log_json=True,
    )
    with psycopg.connect(BASE_DSN, autocommit=True) as conn:
        conn.execute(SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(dbname)))


@pytest.fixture(scope="session")
def tokens(settings: Settings) -> TokenCodec:
    return TokenCodec.from_settings(settings)


@pytest.fixture(scope="session")
def admin_headers(tokens: TokenCodec) -> dict[str, str]:
    """Most tests act as an admin, who may do anything; tests of access rules mint
    member tokens with ``bearer``."""
    return bearer(tokens, uuid.uuid4(), "admin")


def bearer(tokens: TokenCodec, user_id: uuid.UUID | str, role: str = "member") -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.issue(uuid.UUID(str(user_id)), role)}"}


@pytest.fixture(scope="session")
def write_side(settings: Settings) -> Iterator[WriteSide]:
    ws = bootstrap(settings)
    yield ws
    ws.close()


@pytest.fixture
async def read_store(write_side: WriteSide) -> AsyncIterator[PostgresReadStore]:
    """An empty read store in a schema of this test's own (the session's database)."""
    async with fresh_store(write_side.settings.postgres_dsn) as store:
        yield store


@pytest.fixture(scope="session")
async def commands(
    write_side: WriteSide, tokens: TokenCodec, admin_headers: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the command app, as an admin; sync endpoints run in real
    worker threads."""
    transport = httpx.ASGITransport(app=create_command_app(write_side, tokens))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://tasktrail", headers=admin_headers
    ) as client:
        yield client


@dataclass
class System:
    """The whole service in this process: both APIs, the relay and every projector."""

    api: httpx.AsyncClient
    store: ReadStore
    cache: DocumentCache
    checkpoints: LocalCheckpoints
    running: Background
    tokens: TokenCodec

    async def cached(self, kind: str, id: str) -> CacheHit | None:
        """The cache entry queries would read now: keys carry the current generation."""
        generation = await Generations(self.store).current(f"{kind}s")
        return await self.cache.get(cache_kind(kind, generation), id)


@pytest.fixture(scope="session")
async def system(
    settings: Settings, write_side: WriteSide, tokens: TokenCodec, admin_headers: dict[str, str]
) -> AsyncIterator[System]:
    """``api`` acts as an admin."""
    store = await PostgresReadStore.connect(settings.postgres_dsn)
    checkpoints = LocalCheckpoints()
    read_side = await open_read_side(settings, store, checkpoints)
    app = CombinedApp(
        create_command_app(write_side, tokens, docs_prefix="/commands"),
        create_query_app(read_side, tokens),
    )
    async with (
        background(
            settings, write_side, store, read_side.cache, on_checkpoint=checkpoints.update
        ) as running,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t", headers=admin_headers
        ) as api,
    ):
        yield System(api, store, read_side.cache, checkpoints, running, tokens)
        # A projector that hung during the session (rather than ended) shows here: every
        # projector's queue gets every event, so each one's checkpoint reaches this one.
        last = write_side.activity.track(
            TrackActivity(uuid.uuid4(), "session", "ended"), as_admin()
        ).position
        stalled = {
            name: at
            for name in NAMES
            if (at := await checkpoints.wait(name, last, within=30)) < last
        }
    await read_side.cache.close()
    await store.close()
    await _delete_broker_objects(settings)
    redis = Redis.from_url(settings.redis_url)
    keys = [key async for key in redis.scan_iter(match=f"{settings.namespace}:*", count=1000)]
    if keys:
        await redis.unlink(*keys)
    await redis.aclose()
    assert not running.ended, f"background tasks ended during the session: {running.ended}"
    assert not stalled, f"projectors stalled below position {last}: {stalled}"


async def _delete_broker_objects(settings: Settings) -> None:
    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        for name in NAMES:
            await channel.queue_delete(queue_name(settings.namespace, name))
            await channel.queue_delete(dead_letter_queue_name(settings.namespace, name))
        await channel.exchange_delete(exchange_name(settings.namespace))

"""The relay against real PostgreSQL and RabbitMQ, including a broker restart."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
import pytest

from common.settings import Settings
from events.catalog import default_registry
from events.codec import EventCodec
from tests.conftest import System
from tests.support import broker
from tests.support.actors import as_admin
from tests.support.instances import private_rabbitmq
from write_side.bootstrap import WriteSide
from write_side.broker import AmqpPublisher, exchange_name
from write_side.commands import TrackActivity
from write_side.relay import Relay


@asynccontextmanager
async def _relay_on(
    settings: Settings, write_side: WriteSide, amqp_url: str
) -> AsyncIterator[tuple[Relay, str]]:
    """A relay of its own, on an exchange of its own, starting at the current head."""
    namespace = f"{settings.namespace}_relay_{uuid.uuid4().hex[:6]}"
    queue = f"{namespace}.observer"
    await broker.bound_queue(amqp_url, exchange_name(namespace), queue)
    relay = Relay(
        write_side.store,
        EventCodec(default_registry()),
        AmqpPublisher(amqp_url, namespace),
        dsn=settings.postgres_dsn,
        name=f"relay-{namespace}",
        batch_size=100,
    )
    write_side.store.set_position(relay.name, write_side.store.head())
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield relay, queue
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await broker.delete(amqp_url, queues=(queue,), exchanges=(exchange_name(namespace),))


@pytest.fixture
async def relay(settings: Settings, write_side: WriteSide) -> AsyncIterator[tuple[Relay, str]]:
    async with _relay_on(settings, write_side, settings.rabbitmq_url) as made:
        yield made


async def until(condition: object, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return False


def track(ws: WriteSide, n: int) -> int:
    executed = ws.activity.track(TrackActivity(uuid.uuid4(), "bench", f"e{n}"), as_admin())
    return executed.position


async def test_every_event_is_published_in_order_with_its_metadata(
    settings: Settings, write_side: WriteSide, relay: tuple[Relay, str]
) -> None:
    publisher, queue = relay
    positions = [await asyncio.to_thread(track, write_side, n) for n in range(20)]

    assert await until(lambda: publisher.position >= positions[-1], within=10)
    messages = await broker.drain(settings.rabbitmq_url, queue)

    headers = [m.headers for m in messages]
    assert [h["position"] for h in headers] == positions
    assert all(m.routing_key == "activity.tracked" for m in messages)
    assert all(m.delivery_mode == 2 and m.content_type == "application/json" for m in messages)
    assert write_side.store.get_position(publisher.name) == positions[-1]


async def test_reservations_are_not_published_and_hashes_never_are(
    settings: Settings, system: System, relay: tuple[Relay, str]
) -> None:
    publisher, queue = relay
    response = await system.api.post(
        "/api/v1/users",
        json={"email": f"{uuid.uuid4().hex}@example.com", "username": uuid.uuid4().hex[:20],
              "password": "Sturdy-Password-42"},
    )  # fmt: skip
    position = int(response.headers["x-event-position"])

    assert await until(lambda: publisher.position >= position, within=10)
    messages = await broker.drain(settings.rabbitmq_url, queue)

    assert [m.routing_key for m in messages] == ["user.registered"]
    assert b"argon2" not in messages[0].body
    assert b"password" not in messages[0].body


async def test_a_dropped_listen_connection_reconnects(
    settings: Settings, write_side: WriteSide, relay: tuple[Relay, str]
) -> None:
    def listeners() -> list[int]:
        with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND query LIKE 'LISTEN%%' AND pid <> pg_backend_pid()"
            ).fetchall()
        return [row[0] for row in rows]

    assert await until(lambda: bool(listeners()), within=5)
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        for pid in listeners():
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))

    publisher, _ = relay
    position = await asyncio.to_thread(track, write_side, 0)
    assert await until(lambda: publisher.position >= position, within=10), "polling covers"
    assert await until(lambda: bool(listeners()), within=10), "and it listens again"


async def test_a_broker_restart_during_a_burst_loses_nothing(
    settings: Settings, write_side: WriteSide
) -> None:
    """1,000 commands; RabbitMQ stops and starts in the middle of them. The broker is a
    private node of this test's own: the shared one serves every other test."""
    with private_rabbitmq() as rabbit:
        async with _relay_on(settings, write_side, rabbit.url) as (publisher, queue):
            positions: list[int] = []

            async def burst() -> None:
                for n in range(1000):
                    positions.append(await asyncio.to_thread(track, write_side, n))

            commands = asyncio.create_task(burst())
            await until(lambda: len(positions) >= 200, within=30)
            await asyncio.to_thread(rabbit.stop_app)
            stopped_at = len(positions)
            await asyncio.sleep(1)
            await asyncio.to_thread(rabbit.start_app)
            await commands

            assert len(positions) == 1000, "every command succeeded while the broker was down"
            assert len(positions) > stopped_at, "commands went on during the outage"
            assert await until(lambda: publisher.position >= positions[-1], within=60)
            delivered = Counter(
                m.headers["position"] for m in await broker.drain(rabbit.url, queue)
            )
            assert set(positions) <= set(delivered), "no event was lost"
            duplicates = sum(n - 1 for n in delivered.values())
            assert duplicates <= publisher.batch_size, "only an unconfirmed batch may be sent twice"

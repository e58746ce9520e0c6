"""B4: the relay moving stored events to RabbitMQ, against a bare aio-pika publisher.

Both publish the same messages (bodies, headers, persistent, publisher confirms)
to a durable topic exchange with a durable classic queue bound to ``#`` (the
kind projectors declare), so every message is really routed and persisted.
The relay is tasktrail's own (write_side/relay.py), run in this process with a
fresh name, i.e. from position 0; it is timed from start until its stored
position reaches the head. Queues and exchanges are deleted after each run.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aio_pika

from bench.corpus import drop_database, seed
from bench.rows import Context, Row, Series
from common.logging import configure_logging
from common.settings import Settings
from events.published import PublishedEvent
from write_side.bootstrap import WriteSide, bootstrap
from write_side.broker import AmqpPublisher, exchange_name, to_message
from write_side.relay import Relay

IN_FLIGHT = 256


@dataclass
class Run:
    events: int
    seconds: float
    routed: int
    per_second: list[float]

    @property
    def rate(self) -> float:
        return self.events / self.seconds


@contextlib.asynccontextmanager
async def bound_queue(url: str, exchange: str) -> AsyncIterator[Callable[[int], Awaitable[int]]]:
    """Declares ``exchange`` and a durable queue bound to it; yields a function that waits
    (up to 10 s) for the queue to hold n messages and returns its count; deletes both."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        topic = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(f"{exchange}.bench", durable=True)
        await queue.bind(topic, "#")

        async def routed(expected: int) -> int:
            deadline = time.monotonic() + 10
            while True:
                declared = await channel.declare_queue(queue.name, passive=True)
                count = declared.declaration_result.message_count or 0
                if count >= expected or time.monotonic() > deadline:
                    return count
                await asyncio.sleep(0.1)

        try:
            yield routed
        finally:  # a failed run must not leave a queue filling the broker's disk
            await queue.delete(if_unused=False, if_empty=False)
            await topic.delete()
    finally:
        await connection.close()


class Sampler:
    """Counts per wall-clock second, from a counter read on the event loop."""

    def __init__(self, read: Callable[[], int]) -> None:
        self.read = read
        self.samples: list[float] = []
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        last, tick = self.read(), time.perf_counter()
        while True:
            tick += 1
            await asyncio.sleep(max(0.0, tick - time.perf_counter()))
            now = self.read()
            self.samples.append(float(now - last))
            last = now

    async def stop(self) -> list[float]:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        return self.samples


async def relay_once(
    write_side: WriteSide, url: str, namespace: str, name: str, head: int, published: int
) -> Run:
    store = write_side.store
    async with bound_queue(url, exchange_name(namespace)) as routed:
        relay = Relay(store, store.codec, AmqpPublisher(url, namespace), dsn=_dsn(write_side),
                      name=name)  # fmt: skip
        stop = asyncio.Event()
        started = time.perf_counter()
        running = asyncio.create_task(relay.run(stop), name="bench-relay")
        sampler = Sampler(lambda: relay.position)
        while relay.position < head:
            if running.done():
                running.result()  # raises what stopped it
                raise RuntimeError("the relay stopped before reaching the head")
            await asyncio.sleep(0.005)
        seconds = time.perf_counter() - started
        samples = await sampler.stop()
        stop.set()
        await running
        stored = await asyncio.to_thread(store.get_position, name)
        assert stored >= head, (stored, head)
        return Run(head, seconds, await routed(published), samples)


async def bare_once(url: str, exchange: str, messages: list[tuple[dict[str, Any], str]]) -> Run:
    """Publishes every message with IN_FLIGHT unconfirmed at most, on a confirm channel."""
    async with bound_queue(url, exchange) as routed:
        connection = await aio_pika.connect(url)
        try:
            channel = await connection.channel(publisher_confirms=True)
            topic = await channel.get_exchange(exchange)
            pending: Iterator[tuple[dict[str, Any], str]] = iter(messages)
            confirmed = 0

            async def worker() -> None:
                nonlocal confirmed
                for fields, key in pending:
                    await topic.publish(aio_pika.Message(**fields), routing_key=key)
                    confirmed += 1

            started = time.perf_counter()
            sampler = Sampler(lambda: confirmed)
            await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
            seconds = time.perf_counter() - started
            samples = await sampler.stop()
        finally:
            await connection.close()
        return Run(len(messages), seconds, await routed(len(messages)), samples)


def _dsn(write_side: WriteSide) -> str:
    return write_side.settings.postgres_dsn


def _message_fields(event: PublishedEvent) -> dict[str, Any]:
    """The arguments of the relay's own message for this event (same body and headers)."""
    message = to_message(event)
    return {
        "body": message.body, "content_type": message.content_type,
        "delivery_mode": aio_pika.DeliveryMode.PERSISTENT, "message_id": message.message_id,
        "type": message.type, "headers": dict(message.headers),
    }  # fmt: skip


def published_messages(write_side: WriteSide) -> list[tuple[dict[str, Any], str]]:
    store, position, messages = write_side.store, 0, []
    while batch := store.read_all(position, 5000):
        for envelope in batch:
            if envelope.event.published:
                event = store.codec.to_published(envelope)
                messages.append((_message_fields(event), event.routing_key))
        position = batch[-1].position or position
    return messages


async def measure(
    ctx: Context, write_side: WriteSide, head: int, messages: list[tuple[dict[str, Any], str]]
) -> tuple[list[Run], list[Run]]:
    url, base = ctx.settings.rabbitmq_url, f"{ctx.settings.namespace}_b4"
    relays, bares = [], []
    for run in range(1, ctx.args.repeat + 1):
        relays.append(await relay_once(write_side, url, f"{base}_r{run}", f"bench_relay_{run}",
                                       head, len(messages)))  # fmt: skip
        bares.append(await bare_once(url, f"{base}_bare{run}.events", messages))
        print(f"  run {run}: relay {relays[-1].rate:,.0f}/s, bare {bares[-1].rate:,.0f}/s")
    return relays, bares


def b4(ctx: Context) -> list[Row]:
    """Relay: stored events -> RabbitMQ (confirmed), vs bare aio-pika with 256 in flight."""
    name = f"{ctx.settings.namespace}_relay"
    settings = Settings(postgres_dsn=f"postgresql://postgres@127.0.0.1:5432/{name}",
                        namespace=name, log_level="WARNING")  # fmt: skip
    configure_logging("WARNING")  # the relay's info lines would drown the table
    write_side = bootstrap(settings)
    try:
        seed(write_side.store, ctx.args.events_b4)
        head = write_side.store.head()
        messages = published_messages(write_side)
        relays, bares = asyncio.run(measure(ctx, write_side, head, messages))
    finally:
        write_side.close()
        drop_database(name)
    for label, runs in (("B4 relay", relays), ("B4 bare aio-pika", bares)):
        for n, r in enumerate(runs, 1):
            ctx.series.append(Series(f"{label} run {n}", "second", "msg/s", r.per_second))
    ours = statistics.median(r.rate for r in relays)
    bare = statistics.median(r.rate for r in bares)
    routed = min(r.routed for r in relays + bares)
    return [
        Row("B4", f"relay events/s over {head:,} stored vs bare aio-pika ({IN_FLIGHT} in flight)",
            ours, bare, ">= 50%", ours >= 0.5 * bare),
        Row("B4", "relay events/s, absolute", ours, 0, ">= 10,000", ours >= 10_000),
        Row("B4", "messages routed to the bound queue, fewest of all runs", routed,
            len(messages), "all", routed == len(messages)),
    ]  # fmt: skip

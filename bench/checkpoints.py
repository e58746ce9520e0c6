"""How far the pipeline of a benchmark's server has got: a figure is measured only once
it is idle, so that the server under test does no work its baseline does not do.

A projector replays the event store before it consumes its queue, so its checkpoint
reaches the head long before the relay's copies of the same events have drained from
its queue (10,000 registrations: about 30 s of duplicates to acknowledge)."""

from __future__ import annotations

import asyncio
import time

import aio_pika

from common.settings import Settings
from projections.catalog import NAMES
from projections.runtime import queue_name
from read_side.generations import Generations, at, checkpoint_table
from read_side.postgres import PostgresReadStore
from write_side.bootstrap import bootstrap


async def lowest_checkpoint(dsn: str) -> int:
    store = await PostgresReadStore.connect(dsn)
    try:
        lowest: int | None = None
        for name in NAMES:
            generation = await Generations(store).current(name)
            doc = await store.get(at(checkpoint_table(name), generation), name)
            position = 0 if doc is None else int(doc["position"])
            lowest = position if lowest is None else min(lowest, position)
        return lowest or 0
    finally:
        await store.close()


def caught_up(dsn: str, head: int, started: float, within: float) -> float:
    """Seconds from ``started`` until every projector's checkpoint reached ``head``."""
    deadline = time.perf_counter() + within
    while asyncio.run(lowest_checkpoint(dsn)) < head:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the projectors did not reach {head} within {within} s")
        time.sleep(0.05)
    return time.perf_counter() - started


async def _queued(settings: Settings) -> int:
    """Messages ready in the projectors' queues (a prefetched batch is not counted)."""
    connection = await aio_pika.connect(settings.rabbitmq_url)
    try:
        channel = await connection.channel()
        total = 0
        for name in NAMES:
            queue = await channel.declare_queue(queue_name(settings.namespace, name), passive=True)
            total += queue.declaration_result.message_count or 0
        return total
    finally:
        await connection.close()


def idle(settings: Settings, head: int, within: float) -> None:
    """Returns once every projector's checkpoint and the relay have reached ``head`` and
    the projectors' queues stayed empty for half a second."""
    deadline = time.perf_counter() + within
    caught_up(settings.postgres_dsn, head, time.perf_counter(), within)
    write_side = bootstrap(settings)
    try:
        empty_since: float | None = None
        while empty_since is None or time.perf_counter() - empty_since < 0.5:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the pipeline was not idle within {within} s")
            published = write_side.store.get_position("relay") >= head
            if published and asyncio.run(_queued(settings)) == 0:
                empty_since = empty_since or time.perf_counter()
            else:
                empty_since = None
            time.sleep(0.1)
    finally:
        write_side.close()

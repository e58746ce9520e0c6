"""The composition root of every tasktrail process: builds real parts from settings.

``tasktrail serve`` runs all of them in one process; ``serve commands``,
``serve queries``, ``relay`` and ``project`` run one part each.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import structlog

from cli.event_source import PublishedLog
from common.settings import Settings
from events.catalog import default_registry
from events.codec import EventCodec
from projections.catalog import NAMES, applier_factory
from projections.runtime import CheckpointListener, ProjectionRunner
from read_side.bootstrap import ReadSide
from read_side.cache import DocumentCache, redis_breaker
from read_side.generations import CurrentGenerations
from read_side.guarded_store import GuardedReadStore, store_breaker
from read_side.mongo import MongoReadStore
from read_side.positions import Checkpoints, StoreCheckpoints
from read_side.postgres import PostgresReadStore
from read_side.store import ReadStore
from write_side.bootstrap import WriteSide
from write_side.broker import AmqpPublisher
from write_side.postgres import ensure_database
from write_side.relay import Relay

log = structlog.get_logger("tasktrail")


async def open_read_store(settings: Settings) -> ReadStore:
    """MongoDB where TASKTRAIL_MONGO_URL is set; else PostgreSQL, which every process
    here needs anyway."""
    if settings.mongo_url:
        return MongoReadStore.connect(settings.mongo_url, settings.namespace)
    dsn = settings.read_dsn or settings.postgres_dsn
    if settings.read_dsn:
        ensure_database(dsn)
    return await PostgresReadStore.connect(
        dsn, schema=settings.read_schema, pool_timeout=settings.pg_timeout
    )


async def open_read_side(
    settings: Settings, store: ReadStore, checkpoints: Checkpoints | None = None
) -> ReadSide:
    """What queries read through: ``store`` and Redis, each behind a circuit breaker.

    Projectors write through the same cache, so ``settings.cache_enabled`` turns Redis
    off for both."""
    failures, seconds = settings.breaker_failures, settings.breaker_open_seconds
    cache = await DocumentCache.connect(
        settings.redis_url,
        settings.namespace,
        breaker=redis_breaker(failures, seconds),
        enabled=settings.cache_enabled,
        timeout_seconds=settings.redis_timeout,
    )
    guarded = GuardedReadStore(store, store_breaker(failures, seconds))
    if checkpoints is not None:  # projectors in this process announce their generations
        return ReadSide(guarded, cache, checkpoints, breakers=(guarded.breaker, cache.breaker))
    generations = CurrentGenerations(guarded)
    return ReadSide(
        guarded,
        cache,
        StoreCheckpoints(guarded, generations=generations),
        breakers=(guarded.breaker, cache.breaker),
        shared_generations=generations,
    )


@dataclass
class Background:
    """The relay and projectors running as tasks of the current event loop."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    died: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when a task ends on its own: its process should exit, to be restarted."""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    """Each task that ended on its own, with its error: for whoever checks afterwards."""
    relay: Relay | None = None
    runners: list[ProjectionRunner] = field(default_factory=list)


@contextlib.asynccontextmanager
async def background(
    settings: Settings,
    write_side: WriteSide,
    store: ReadStore,
    cache: DocumentCache,
    *,
    relay: bool = True,
    projectors: Sequence[str] = NAMES,
    on_checkpoint: CheckpointListener | None = None,
    on_replayed: Callable[[], None] | None = None,
) -> AsyncIterator[Background]:
    """Runs the relay and the named projectors until the block exits, then stops them.
    ``on_replayed`` runs whenever a projector has replayed the event store."""
    codec = EventCodec(default_registry())
    running = Background()
    if relay:
        running.relay = Relay(
            write_side.store,
            codec,
            AmqpPublisher(settings.rabbitmq_url, settings.namespace),
            dsn=settings.postgres_dsn,
        )
        running.tasks.append(asyncio.create_task(running.relay.run(running.stop), name="relay"))
    source = PublishedLog(write_side.store, codec)
    for name in projectors:
        runner = ProjectionRunner(
            name,
            applier_factory(name, store, source, cache),
            store,
            amqp_url=settings.rabbitmq_url,
            namespace=settings.namespace,
            on_checkpoint=on_checkpoint,
            on_replayed=on_replayed,
        )
        running.runners.append(runner)
        running.tasks.append(asyncio.create_task(runner.run(running.stop), name=name))
    for task in running.tasks:
        task.add_done_callback(lambda done: _ended(done, running))
    try:
        yield running
    finally:
        running.stop.set()
        await asyncio.wait(running.tasks, timeout=10)
        for task in running.tasks:
            task.cancel()
        await asyncio.gather(*running.tasks, return_exceptions=True)


def _ended(task: asyncio.Task[None], running: Background) -> None:
    """A relay or projector never ends unless told to: say loudly that it did."""
    if running.stop.is_set():
        return
    error = None if task.cancelled() else task.exception()
    log.error("background task ended", task=task.get_name(), error=repr(error), exc_info=error)
    running.ended.append(f"{task.get_name()}: {error!r}")
    running.died.set()

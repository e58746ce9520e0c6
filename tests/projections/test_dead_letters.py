"""A poison event goes to the dead-letter queue; its stream waits; the rest goes on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from cli.event_source import PublishedLog
from common.settings import Settings
from events.catalog import default_registry
from events.codec import EventCodec
from projections.applier import Applier
from projections.runtime import ProjectionRunner, dead_letter_queue_name, queue_name
from read_side.postgres import PostgresReadStore
from read_side.tables import TASKS
from tests.projections.batches import skip_to, stream_state
from tests.projections.failing import FailingTasks
from tests.support import broker
from tests.support.actors import as_admin
from tests.write_side.api.given import PASSWORD, unique
from write_side.bootstrap import WriteSide
from write_side.broker import AmqpPublisher, exchange_name
from write_side.commands import CreateTask, RegisterUser, UpdateTask
from write_side.relay import Relay


@dataclass
class Rig:
    projector: FailingTasks
    runner: ProjectionRunner
    store: PostgresReadStore
    dead_letters: str


@pytest.fixture
async def rig(
    settings: Settings, write_side: WriteSide, read_store: PostgresReadStore
) -> AsyncIterator[Rig]:
    namespace = f"{settings.namespace}_dlq_{uuid.uuid4().hex[:6]}"
    codec = EventCodec(default_registry())
    store = read_store
    projector = FailingTasks()
    source = PublishedLog(write_side.store, codec)
    head = write_side.store.head()
    applier = Applier(projector, store, source)
    await applier.setup()
    await skip_to(applier, head)  # this rig only cares about what comes next
    relay = Relay(
        write_side.store, codec, AmqpPublisher(settings.rabbitmq_url, namespace),
        dsn=settings.postgres_dsn, name=f"relay-{namespace}",
    )  # fmt: skip
    write_side.store.set_position(relay.name, head)
    runner = ProjectionRunner(
        "tasks", lambda generation: applier, store,
        amqp_url=settings.rabbitmq_url, namespace=namespace,
    )  # fmt: skip
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)), asyncio.create_task(runner.run(stop))]
    yield Rig(projector, runner, store, dead_letter_queue_name(namespace, "tasks"))
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 15)
    await broker.delete(
        settings.rabbitmq_url,
        queues=(queue_name(namespace, "tasks"), dead_letter_queue_name(namespace, "tasks")),
        exchanges=(exchange_name(namespace),),
    )


async def caught_up(runner: ProjectionRunner, position: int) -> None:
    for _ in range(200):
        if runner.position >= position:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"projector stuck at {runner.position}, expected {position}")


async def test_a_dead_letter_holds_back_its_stream_only_until_resolved(
    settings: Settings, write_side: WriteSide, rig: Rig
) -> None:
    ctx = as_admin()
    owner = uuid.uuid4()
    name = unique()
    ws = write_side
    await asyncio.to_thread(
        ws.users.register, RegisterUser(owner, f"{name}@example.com", name, PASSWORD), ctx
    )
    bad, good = uuid.uuid4(), uuid.uuid4()
    for task in (bad, good):
        await asyncio.to_thread(ws.tasks.create, CreateTask(task, owner, "original"), ctx)
    rig.projector.poison = (str(bad), 2)
    await asyncio.to_thread(ws.tasks.update, UpdateTask(bad, title="poisoned"), ctx)
    await asyncio.to_thread(ws.tasks.update, UpdateTask(bad, title="after the poison"), ctx)
    last = await asyncio.to_thread(ws.tasks.update, UpdateTask(good, title="unaffected"), ctx)

    await caught_up(rig.runner, last.position)

    assert (await rig.store.get(TASKS, str(good)) or {})["title"] == "unaffected"
    held = await rig.store.get(TASKS, str(bad))
    assert held is not None
    assert (held["title"], held["version"]) == ("original", 1), "later events waited"
    [dead] = await broker.drain(settings.rabbitmq_url, rig.dead_letters)
    assert dead.headers["x-error"] == "RuntimeError('cannot apply this one')"
    assert dead.headers["stream_version"] == 2
    assert dead.routing_key == rig.dead_letters
    assert dead.headers["x-routing-key"] == "task.details_changed"

    rig.projector.poison = None  # the cause is fixed; resolve the dead letter
    session = rig.runner.applier.session()
    assert await rig.runner.applier.resume(session, str(bad)) == 2
    await rig.runner.applier.commit(session, rig.runner.position, rig.runner.revision)

    resolved = await rig.store.get(TASKS, str(bad))
    assert resolved is not None
    assert (resolved["title"], resolved["version"]) == ("after the poison", 3)


async def test_a_poison_event_met_while_catching_up_is_dead_lettered_too(
    settings: Settings, write_side: WriteSide, read_store: PostgresReadStore
) -> None:
    """The runner replays the event store on connecting; a poison event found there must
    not stop it."""
    namespace = f"{settings.namespace}_replay_{uuid.uuid4().hex[:6]}"
    codec = EventCodec(default_registry())
    source = PublishedLog(write_side.store, codec)
    store = read_store
    projector = FailingTasks()
    applier = Applier(projector, store, source)
    await applier.setup()
    await skip_to(applier, write_side.store.head())
    ctx, owner, name = as_admin(), uuid.uuid4(), unique()
    write_side.users.register(RegisterUser(owner, f"{name}@example.com", name, PASSWORD), ctx)
    bad, good = uuid.uuid4(), uuid.uuid4()
    write_side.tasks.create(CreateTask(bad, owner, "poison"), ctx)
    last = write_side.tasks.create(CreateTask(good, owner, "fine"), ctx)
    projector.poison = (str(bad), 1)

    runner = ProjectionRunner(
        "tasks", lambda generation: applier, store,
        amqp_url=settings.rabbitmq_url, namespace=namespace,
    )  # fmt: skip
    stop = asyncio.Event()
    running = asyncio.create_task(runner.run(stop))
    try:
        await caught_up(runner, last.position)
        assert not running.done(), "the runner is still running"
        assert await store.get(TASKS, str(good)) is not None
        [dead] = await broker.drain(
            settings.rabbitmq_url, dead_letter_queue_name(namespace, "tasks")
        )
        assert (dead.headers["stream_id"], dead.headers["stream_version"]) == (str(bad), 1)
        assert (await stream_state(applier, str(bad))).blocked_at == 1
    finally:
        stop.set()
        await asyncio.wait_for(running, 15)
        await broker.delete(
            settings.rabbitmq_url,
            queues=(queue_name(namespace, "tasks"), dead_letter_queue_name(namespace, "tasks")),
            exchanges=(exchange_name(namespace),),
        )

"""The projection runner against real RabbitMQ: what it does when the broker lets go."""

from __future__ import annotations

import asyncio
import uuid

from cli.event_source import PublishedLog
from common.settings import Settings
from events.catalog import default_registry
from events.codec import EventCodec
from projections.applier import Applier
from projections.runtime import ProjectionRunner, dead_letter_queue_name, queue_name
from read_side.postgres import PostgresReadStore
from tests.projections.batches import skip_to
from tests.projections.failing import FailingTasks
from tests.support import broker
from tests.support.actors import as_admin
from tests.write_side.api.given import PASSWORD, unique
from write_side.bootstrap import WriteSide
from write_side.commands import CreateTask, RegisterUser


async def eventually(condition: object, within: float) -> bool:
    for _ in range(int(within / 0.05)):
        if await condition():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_consumer_the_broker_cancels_reconnects_and_catches_up(
    settings: Settings, write_side: WriteSide, read_store: PostgresReadStore
) -> None:
    """Deleting the queue cancels the runner's consumer but leaves its connection up;
    the runner must notice, declare its queue again and catch up from the event store,
    not wait for deliveries that will never come."""
    namespace = f"{settings.namespace}_cancel_{uuid.uuid4().hex[:6]}"
    queue = queue_name(namespace, "tasks")
    source = PublishedLog(write_side.store, EventCodec(default_registry()))
    store = read_store
    applier = Applier(FailingTasks(), store, source)
    await applier.setup()
    await skip_to(applier, write_side.store.head())
    runner = ProjectionRunner(
        "tasks", lambda generation: applier, store,
        amqp_url=settings.rabbitmq_url, namespace=namespace,
    )  # fmt: skip
    stop = asyncio.Event()
    running = asyncio.create_task(runner.run(stop))
    try:
        assert await eventually(lambda: _consumed(settings, queue), within=10), (
            "the runner consumes its queue"
        )
        await broker.delete(settings.rabbitmq_url, queues=(queue,))

        ctx, owner, name = as_admin(), uuid.uuid4(), unique()
        write_side.users.register(RegisterUser(owner, f"{name}@example.com", name, PASSWORD), ctx)
        last = write_side.tasks.create(CreateTask(uuid.uuid4(), owner, "after the cancel"), ctx)

        assert await eventually(lambda: _at(runner, last.position), within=15), (
            f"runner stuck at {runner.position}, expected {last.position}"
        )
        assert await eventually(lambda: _consumed(settings, queue), within=10), "consumes again"
        assert not running.done()
    finally:
        stop.set()
        await asyncio.wait_for(running, 15)
        await broker.delete(
            settings.rabbitmq_url, queues=(queue, dead_letter_queue_name(namespace, "tasks"))
        )


async def _consumed(settings: Settings, queue: str) -> bool:
    return await broker.consumers(settings.rabbitmq_url, queue) > 0


async def _at(runner: ProjectionRunner, position: int) -> bool:
    return runner.position >= position

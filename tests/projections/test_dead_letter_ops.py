"""Resolving dead letters on the real broker: listing keeps them, retry and discard
release the stream and apply what waited behind the dead letter, in order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from cli.event_source import PublishedLog
from cli.status import gather_status
from common.settings import Settings
from events.catalog import default_registry
from events.codec import EventCodec
from events.tasks import TaskStatus
from projections.applier import Applier
from projections.dead_letters import (
    DISCARDS,
    DeadLetterNotFound,
    DiscardFailed,
    count_dead_letters,
    discard,
    list_dead_letters,
    retry,
)
from projections.runtime import ProjectionRunner, dead_letter_queue_name, queue_name
from projections.tracking import StreamState
from read_side.postgres import PostgresReadStore
from read_side.store import Criteria
from read_side.tables import TASKS
from tests.projections.batches import skip_to, stream_state
from tests.projections.failing import FailingTasks
from tests.support import broker
from tests.support.actors import as_admin
from tests.support.stores import fresh_store
from tests.write_side.api.given import PASSWORD, unique
from write_side.bootstrap import WriteSide
from write_side.broker import AmqpPublisher, exchange_name
from write_side.commands import CreateTask, RegisterUser, UpdateTask
from write_side.executor import CommandContext, Executed
from write_side.relay import Relay

POISON_ERROR = "RuntimeError('cannot apply this one')"


@dataclass
class Rig:
    settings: Settings
    write_side: WriteSide
    namespace: str
    projector: FailingTasks
    runner: ProjectionRunner
    store: PostgresReadStore
    running: list[asyncio.Task[None]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    owner: uuid.UUID = field(default_factory=uuid.uuid4)

    async def halt(self) -> None:
        """Stops the relay and the projector (another process may then act alone)."""
        self.stop.set()
        await asyncio.wait_for(asyncio.gather(*self.running), 15)

    @property
    def scoped_settings(self) -> Settings:
        return self.settings.model_copy(update={"namespace": self.namespace})

    @property
    def applier(self) -> Applier:
        return self.runner.applier

    async def run(self, handler: Callable[[Any, CommandContext], Executed[Any]], cmd: Any) -> int:
        executed = await asyncio.to_thread(handler, cmd, as_admin())
        return executed.position

    async def caught_up(self, position: int) -> None:
        for _ in range(200):
            if self.runner.position >= position:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"projector stuck at {self.runner.position}, expected {position}")

    async def task(self, task_id: uuid.UUID) -> dict[str, object]:
        doc = await self.store.get(TASKS, str(task_id))
        assert doc is not None
        return doc


@asynccontextmanager
async def running_rig(settings: Settings, write_side: WriteSide) -> AsyncIterator[Rig]:
    """A namespace of its own: a real relay and a tasks projector that can be made to fail."""
    async with (
        fresh_store(settings.postgres_dsn, "ops") as store,
        _started(settings, write_side, store) as made,
    ):
        yield made


@asynccontextmanager
async def _started(
    settings: Settings, write_side: WriteSide, store: PostgresReadStore
) -> AsyncIterator[Rig]:
    namespace = f"{settings.namespace}_ops_{uuid.uuid4().hex[:6]}"
    codec = EventCodec(default_registry())
    projector = FailingTasks()
    source = PublishedLog(write_side.store, codec)
    head = write_side.store.head()
    applier = Applier(projector, store, source)
    await applier.setup()
    await skip_to(applier, head)
    relay = Relay(
        write_side.store, codec, AmqpPublisher(settings.rabbitmq_url, namespace),
        dsn=settings.postgres_dsn, name=f"relay-{namespace}",
    )  # fmt: skip
    write_side.store.set_position(relay.name, head)
    runner = ProjectionRunner(
        "tasks", lambda generation: applier, store,
        amqp_url=settings.rabbitmq_url, namespace=namespace,
    )  # fmt: skip
    made = Rig(settings, write_side, namespace, projector, runner, store)
    made.running += [
        asyncio.create_task(relay.run(made.stop)),
        asyncio.create_task(runner.run(made.stop)),
    ]
    name = unique()
    register = RegisterUser(made.owner, f"{name}@example.com", name, PASSWORD)
    await made.caught_up(await made.run(write_side.users.register, register))
    try:
        yield made
    finally:
        await made.halt()
        await broker.delete(
            settings.rabbitmq_url,
            queues=(queue_name(namespace, "tasks"), dead_letter_queue_name(namespace, "tasks")),
            exchanges=(exchange_name(namespace),),
        )


@pytest.fixture
async def rig(settings: Settings, write_side: WriteSide) -> AsyncIterator[Rig]:
    async with running_rig(settings, write_side) as made:
        yield made


async def test_retry_applies_the_dead_letter_then_what_waited_in_order(rig: Rig) -> None:
    ws, url, ns = rig.write_side, rig.settings.rabbitmq_url, rig.namespace
    a, b = uuid.uuid4(), uuid.uuid4()
    for task in (a, b):
        await rig.run(ws.tasks.create, CreateTask(task, rig.owner, "v1"))
    rig.projector.poison = (str(a), 2)
    for title in ("v2", "v3", "v4"):
        await rig.run(ws.tasks.update, UpdateTask(a, title=title))
    await rig.caught_up(await rig.run(ws.tasks.update, UpdateTask(b, title="b2")))

    letters = await list_dead_letters(url, ns, "tasks")
    [letter] = letters
    assert (letter.stream_id, letter.stream_version) == (str(a), 2)
    assert (letter.error, letter.projector) == (POISON_ERROR, "tasks")
    assert letter.routing_key == "task.details_changed"
    assert letter.dead_lettered_at is not None
    assert letter.position is not None
    assert await list_dead_letters(url, ns, "tasks") == letters, "listing removes nothing"
    assert (await rig.task(b))["title"] == "b2"
    assert await stream_state(rig.applier, str(a)) == StreamState(1, blocked_at=2)
    assert await count_dead_letters(url, ns, ["tasks", "users"]) == {"tasks": 1, "users": 0}
    status = await gather_status(rig.scoped_settings, ws, rig.store)
    [tasks] = [p for p in status.projectors if p.name == "tasks"]
    assert (tasks.blocked_streams, tasks.dead_letters, tasks.lag_events) == (1, 1, 0)

    [again] = await retry(url, ns, "tasks", rig.applier, {letter.message_id})
    assert again.error == POISON_ERROR, "still broken: reported, blocked, kept"
    assert await stream_state(rig.applier, str(a)) == StreamState(1, blocked_at=2)
    assert await list_dead_letters(url, ns, "tasks") == letters

    rig.projector.poison = None
    [result] = await retry(url, ns, "tasks", rig.applier, None)

    assert (result.error, result.released, result.letter) == (None, 2, letter)
    doc = await rig.task(a)
    assert (doc["title"], doc["version"]) == ("v4", 4)
    assert rig.projector.versions(a) == [1, 2, 3, 4]
    assert await stream_state(rig.applier, str(a)) == StreamState(4, blocked_at=None)
    assert await rig.applier.tracking.blocked_count(rig.store) == 0
    assert await list_dead_letters(url, ns, "tasks") == []
    assert await count_dead_letters(url, ns, ["tasks"]) == {"tasks": 0}


async def test_discard_records_why_and_the_stream_goes_on_without_it(rig: Rig) -> None:
    ws, url, ns = rig.write_side, rig.settings.rabbitmq_url, rig.namespace
    a = uuid.uuid4()
    await rig.run(ws.tasks.create, CreateTask(a, rig.owner, "first"))
    rig.projector.poison = (str(a), 2)
    await rig.run(ws.tasks.update, UpdateTask(a, status=TaskStatus.IN_PROGRESS))
    await rig.run(ws.tasks.update, UpdateTask(a, title="later"))
    await rig.caught_up(await rig.run(ws.tasks.update, UpdateTask(a, description="latest")))
    [letter] = await list_dead_letters(url, ns, "tasks")

    with pytest.raises(DeadLetterNotFound):
        await discard(url, ns, "tasks", rig.applier, "no-such-id",
                      store=rig.store, reason="typo", discarded_by="tester")  # fmt: skip
    rig.projector.poison = (str(a), 3)  # what waited behind it fails too
    with pytest.raises(DiscardFailed, match="cannot go on past version 3"):
        await discard(url, ns, "tasks", rig.applier, letter.message_id,
                      store=rig.store, reason="first try", discarded_by="tester")  # fmt: skip
    # version 2 is skipped; version 3, the one that failed, holds the stream back
    assert await stream_state(rig.applier, str(a)) == StreamState(2, blocked_at=3)
    assert await rig.store.count(DISCARDS, Criteria()) == 1, "version 2 was skipped"
    assert await list_dead_letters(url, ns, "tasks") == [letter], "the stream still waits"

    rig.projector.poison = None
    discarded = await discard(
        url, ns, "tasks", rig.applier, letter.message_id,
        store=rig.store, reason="bad status data, fixed by hand", discarded_by="tester",
    )  # fmt: skip

    assert discarded == letter
    record = await rig.store.get(DISCARDS, f"tasks:{letter.message_id}")
    assert record is not None
    assert record["reason"] == "bad status data, fixed by hand"
    assert (record["discarded_by"], record["projector"]) == ("tester", "tasks")
    assert (record["event_type"], record["stream_id"], record["stream_version"]) == (
        "task.status_changed", str(a), 2,
    )  # fmt: skip
    assert record["error"] == POISON_ERROR
    assert record["discarded_at"].endswith("+00:00")
    doc = await rig.task(a)
    assert doc["status"] == "todo", "the discarded change is absent"
    assert (doc["title"], doc["description"], doc["version"]) == ("later", "latest", 4)
    assert rig.projector.versions(a) == [1, 3, 4]
    assert await stream_state(rig.applier, str(a)) == StreamState(4, blocked_at=None)
    assert await list_dead_letters(url, ns, "tasks") == []

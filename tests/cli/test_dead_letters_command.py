"""``tasktrail dead-letters`` through the real CLI, on RabbitMQ, in namespaces of its own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import aio_pika
import orjson
import pytest
from redis.asyncio import Redis
from typer.testing import CliRunner, Result

from cli.main import app
from common.settings import Settings
from events.published import PublishedEvent
from projections.dead_letters import DISCARDS, list_dead_letters
from projections.runtime import dead_letter_queue_name
from tests.projections.test_dead_letter_ops import Rig, running_rig
from tests.support import broker
from write_side.bootstrap import WriteSide
from write_side.commands import CreateTask, UpdateTask


@dataclass(frozen=True)
class Letter:
    namespace: str
    message_id: str
    stream_id: str


@pytest.fixture
async def letter(settings: Settings) -> AsyncIterator[Letter]:
    """One dead letter of the tasks projector, as the runtime publishes it."""
    namespace = f"{settings.namespace}_cli_{uuid.uuid4().hex[:6]}"
    queue = dead_letter_queue_name(namespace, "tasks")
    event = PublishedEvent(
        event_id=str(uuid.uuid4()), type="task.details_changed", schema_version=1,
        stream_id=str(uuid.uuid4()), stream_version=2, position=41,
        occurred_at=datetime.now(UTC), correlation_id="req-1", causation_id=None,
        actor=None, data={"title": "[b]not markup[/b]"},
    )  # fmt: skip
    headers: aio_pika.abc.HeadersType = {
        "stream_version": 2,
        "x-error": "RuntimeError('cannot apply this one')",
        "x-projector": "tasks",
        "x-routing-key": "task.details_changed",
        "x-dead-lettered-at": datetime.now(UTC).isoformat(),
    }
    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(queue, durable=True)
        message = aio_pika.Message(orjson.dumps(event), headers=headers, message_id=event.event_id)
        await channel.default_exchange.publish(message, routing_key=queue)
    yield Letter(namespace, event.event_id, event.stream_id)
    await broker.delete(settings.rabbitmq_url, queues=(queue,))


@pytest.fixture
async def rig(settings: Settings, write_side: WriteSide) -> AsyncIterator[Rig]:
    async with running_rig(settings, write_side) as made:
        yield made
    redis = Redis.from_url(settings.redis_url)
    keys = [key async for key in redis.scan_iter(match=f"{made.namespace}:*")]
    if keys:
        await redis.unlink(*keys)
    await redis.aclose()


async def poisoned(rig: Rig) -> tuple[uuid.UUID, str]:
    """A task whose version 2 was dead-lettered and whose version 3 waits; then the rig
    stops, as if the CLI ran in another process."""
    task = uuid.uuid4()
    await rig.run(rig.write_side.tasks.create, CreateTask(task, rig.owner, "v1"))
    rig.projector.poison = (str(task), 2)
    await rig.run(rig.write_side.tasks.update, UpdateTask(task, title="v2"))
    await rig.caught_up(await rig.run(rig.write_side.tasks.update, UpdateTask(task, title="v3")))
    [letter] = await list_dead_letters(rig.settings.rabbitmq_url, rig.namespace, "tasks")
    await rig.halt()
    return task, letter.message_id


async def run_on_rig(rig: Rig, *args: str) -> Result:
    """The CLI in a thread of its own (it runs its own event loop), on the rig's read store
    as another process would open it: from settings."""
    env = {
        "TASKTRAIL_POSTGRES_DSN": rig.settings.postgres_dsn,
        "TASKTRAIL_READ_SCHEMA": rig.store.schema,
        "TASKTRAIL_NAMESPACE": rig.namespace,
        "TASKTRAIL_MONGO_URL": None,
    }
    return await asyncio.to_thread(CliRunner().invoke, app, ["dead-letters", *args], env=env)


async def test_retry_applies_the_letter_and_what_waited(
    rig: Rig,
) -> None:
    task, message_id = await poisoned(rig)

    result = await run_on_rig(rig, "retry", message_id)

    assert result.exit_code == 0, result.output
    assert f"retried {message_id} (tasks, task.details_changed)" in result.stdout
    assert "then 1 waiting event(s)" in result.stdout
    doc = await rig.task(task)
    assert (doc["title"], doc["version"]) == ("v3", 3)
    assert await list_dead_letters(rig.settings.rabbitmq_url, rig.namespace, "tasks") == []


async def test_discard_records_the_reason_and_goes_on(
    rig: Rig,
) -> None:
    task, message_id = await poisoned(rig)

    unknown = await run_on_rig(rig, "discard", "nope", "--reason", "x")
    result = await run_on_rig(rig, "discard", message_id, "--reason", "bad data", "-p", "tasks")

    assert unknown.exit_code == 1
    assert "no dead letter nope" in unknown.stderr
    assert result.exit_code == 0, result.output
    assert f"discarded {message_id}" in result.stdout
    record = await rig.store.get(DISCARDS, f"tasks:{message_id}")
    assert record is not None
    assert record["reason"] == "bad data"
    assert "@" in record["discarded_by"]
    doc = await rig.task(task)
    assert (doc["title"], doc["version"]) == ("v3", 3), "v3 carries every detail again"
    assert rig.projector.versions(task) == [1], "the CLI applied v3 with its own projector"
    assert await list_dead_letters(rig.settings.rabbitmq_url, rig.namespace, "tasks") == []


async def test_retry_releases_a_stream_the_running_projector_then_goes_on_with(
    rig: Rig,
) -> None:
    """The projector keeps running in its own process (here: its own task) while the CLI,
    another process, applies the dead letter to the same read store."""
    task = uuid.uuid4()
    await rig.run(rig.write_side.tasks.create, CreateTask(task, rig.owner, "v1"))
    rig.projector.poison = (str(task), 2)
    await rig.caught_up(await rig.run(rig.write_side.tasks.update, UpdateTask(task, title="v2")))
    [letter] = await list_dead_letters(rig.settings.rabbitmq_url, rig.namespace, "tasks")
    rig.projector.poison = None

    result = await run_on_rig(rig, "retry", letter.message_id)
    later = await rig.run(rig.write_side.tasks.update, UpdateTask(task, title="v3"))
    await rig.caught_up(later)

    assert result.exit_code == 0, result.output
    doc = await rig.task(task)
    assert (doc["title"], doc["version"]) == ("v3", 3), "the live projector applied v3 on top"
    applied_live = rig.projector.versions(task)
    assert 2 not in applied_live, "v2 came from the CLI, with its own projector"
    assert applied_live[-1] == 3, "v3 from the running projector, on top of the CLI's commit"
    assert not any(t.done() for t in rig.running), "the projector never stopped"


def run(settings: Settings, *args: str, namespace: str | None = None) -> Result:
    env = {
        "TASKTRAIL_POSTGRES_DSN": settings.postgres_dsn,
        "TASKTRAIL_NAMESPACE": namespace or f"{settings.namespace}_none",
        "TASKTRAIL_MONGO_URL": None,
        "COLUMNS": "200",
    }
    return CliRunner().invoke(app, ["dead-letters", *args], env=env)


def test_list_json_of_a_namespace_without_dead_letters_is_empty(settings: Settings) -> None:
    result = run(settings, "list", "--json")

    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout) == []


def test_list_shows_a_dead_letter_and_leaves_it(settings: Settings, letter: Letter) -> None:
    table = run(settings, "list", namespace=letter.namespace)
    document = run(settings, "list", "tasks", "--json", namespace=letter.namespace)
    again = run(settings, "list", "users", "--json", namespace=letter.namespace)

    assert table.exit_code == 0, table.output
    for text in (letter.message_id, letter.stream_id, "task.details_changed", "cannot apply"):
        assert text in table.stdout
    [listed] = orjson.loads(document.stdout)
    assert listed["message_id"] == letter.message_id
    assert (listed["stream_id"], listed["stream_version"]) == (letter.stream_id, 2)
    assert listed["error"] == "RuntimeError('cannot apply this one')"
    assert "body" not in listed
    assert orjson.loads(again.stdout) == []


def test_show_prints_headers_and_the_event(settings: Settings, letter: Letter) -> None:
    result = run(settings, "show", letter.message_id, namespace=letter.namespace)
    missing = run(settings, "show", "nope", "-p", "tasks", namespace=letter.namespace)

    assert result.exit_code == 0, result.output
    for text in ("x-error", "cannot apply this one", '"stream_version": 2', "[b]not markup[/b]"):
        assert text in result.stdout
    assert missing.exit_code == 1
    assert "no dead letter nope" in missing.stderr


def test_retry_all_without_dead_letters_says_so(settings: Settings) -> None:
    result = run(settings, "retry", "--all")

    assert result.exit_code == 0, result.output
    assert "no dead letters" in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["retry"], 2, "MESSAGE_ID or --all"),
        (["retry", "x", "--all"], 2, "MESSAGE_ID or --all"),
        (["discard", "x"], 2, "--reason"),
        (["list", "nobody"], 1, "unknown projector 'nobody'"),
    ],
)
def test_bad_usage(settings: Settings, args: list[str], code: int, message: str) -> None:
    result = run(settings, *args)

    assert result.exit_code == code
    assert message in result.stderr


@pytest.mark.parametrize("command", ["list", "show", "retry", "discard"])
def test_help_of_each_command_shows_examples(settings: Settings, command: str) -> None:
    result = run(settings, command, "--help")

    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert f"tasktrail dead-letters {command}" in result.stdout


def test_help_of_the_group_shows_examples(settings: Settings) -> None:
    result = run(settings, "--help")

    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    for command in ("list", "show", "retry", "discard"):
        assert command in result.stdout

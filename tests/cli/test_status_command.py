"""``tasktrail status``: the figures against the running system, and the real CLI."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from cli.status import gather_status
from common.settings import Settings
from projections.catalog import NAMES
from read_side.postgres import PostgresReadStore
from tests.conftest import System
from tests.write_side.api.given import new_user_body
from write_side.bootstrap import WriteSide


async def settled(system: System, write_side: WriteSide) -> int:
    """Runs a command, reads it back, and waits until the relay and every projector
    have reached the event store's head."""
    created = await system.api.post("/api/v1/users", json=new_user_body())
    assert created.status_code == 201, created.text
    position = created.headers["x-event-position"]
    read = await system.api.get(
        f"/api/v1/users/{created.json()['id']}", headers={"X-Min-Position": position}
    )
    assert read.status_code == 200, read.text
    head = write_side.store.head()
    for name in NAMES:
        assert await system.checkpoints.wait(name, head, within=15) >= head
    for _ in range(100):
        if write_side.store.get_position("relay") >= head:
            return head
        await asyncio.sleep(0.05)
    raise AssertionError("the relay did not store its position")


async def test_gather_status_of_a_caught_up_system(
    settings: Settings, write_side: WriteSide, system: System
) -> None:
    head = await settled(system, write_side)

    status = await gather_status(settings, write_side, system.store)

    assert status.head == head
    assert (status.relay_position, status.relay_lag) == (head, 0)
    assert status.rabbitmq == "ok"
    generations = {runner.name: runner.generation for runner in system.running.runners}
    assert [p.name for p in status.projectors] == list(NAMES)
    for p in status.projectors:
        assert (p.generation, p.next_generation) == (generations[p.name], None)
        assert (p.checkpoint, p.lag_events, p.lag_seconds) == (head, 0, 0.0), p
        assert (p.blocked_streams, p.dead_letters) == (0, 0), p


async def test_a_read_store_that_applied_nothing_lags_by_everything(
    settings: Settings, write_side: WriteSide, system: System, read_store: PostgresReadStore
) -> None:
    head = await settled(system, write_side)
    first, newest = write_side.store.read_all(0, 1)[0], write_side.store.read_all(head - 1, 1)[0]
    status = await gather_status(settings, write_side, read_store)

    expected = (newest.occurred_at - first.occurred_at).total_seconds()
    for p in status.projectors:
        assert (p.generation, p.checkpoint, p.lag_events, p.blocked_streams) == (0, 0, head, 0)
        assert p.lag_seconds is not None
        assert p.lag_seconds == pytest.approx(expected)
    assert expected > 0


async def test_a_namespace_that_never_ran_has_no_dead_letters(
    settings: Settings, write_side: WriteSide, read_store: PostgresReadStore
) -> None:
    fresh = settings.model_copy(update={"namespace": f"{settings.namespace}_fresh"})

    status = await gather_status(fresh, write_side, read_store)

    assert status.rabbitmq == "ok"
    assert {p.dead_letters for p in status.projectors} == {0}


async def test_an_unreachable_rabbitmq_is_reported_not_fatal(
    settings: Settings, write_side: WriteSide, read_store: PostgresReadStore
) -> None:
    nowhere = settings.model_copy(update={"rabbitmq_url": "amqp://guest:guest@127.0.0.1:1/"})

    status = await gather_status(nowhere, write_side, read_store)

    assert status.rabbitmq == "unavailable"
    assert {p.dead_letters for p in status.projectors} == {None}


def run(settings: Settings, *args: str) -> Result:
    env = {
        "TASKTRAIL_POSTGRES_DSN": settings.postgres_dsn,
        "TASKTRAIL_NAMESPACE": settings.namespace,
        "TASKTRAIL_MONGO_URL": None,
        "COLUMNS": "160",
    }
    return CliRunner().invoke(app, ["status", *args], env=env)


async def test_json_shows_the_checkpoints_of_the_running_projectors(
    settings: Settings, write_side: WriteSide, system: System
) -> None:
    """Another process (this CLI) reads the same read store the running system writes."""
    head = await settled(system, write_side)

    result = await asyncio.to_thread(run, settings, "--json")

    assert result.exit_code == 0, result.output
    document: dict[str, Any] = orjson.loads(result.stdout)
    assert document["head"] >= head
    assert [p["name"] for p in document["projectors"]] == list(NAMES)
    for p in document["projectors"]:
        assert p["checkpoint"] >= head, p
        assert p["generation"] is not None
        assert p["dead_letters"] == 0


def test_the_table_shows_every_projector(settings: Settings) -> None:
    result = run(settings)

    assert result.exit_code == 0, result.output
    assert "event store head" in result.stdout
    for name in NAMES:
        assert name in result.stdout


def test_watch_and_json_exclude_each_other(settings: Settings) -> None:
    result = run(settings, "--watch", "--json")

    assert result.exit_code == 2
    assert "exclude each other" in result.stderr


def test_help_shows_examples(settings: Settings) -> None:
    result = run(settings, "--help")

    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert "tasktrail status --watch" in result.stdout

"""The applier against the real event store: which event a failure is blamed on."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from cli.event_source import PublishedLog
from events.catalog import default_registry
from events.codec import EventCodec
from events.published import PublishedEvent
from projections.applier import Applier, ApplyFailed, Outcome
from read_side.postgres import PostgresReadStore
from read_side.store import Conflict
from tests.projections.failing import FailingTasks
from tests.support.actors import as_admin
from tests.write_side.api.given import PASSWORD, unique
from write_side.bootstrap import WriteSide
from write_side.commands import CreateTask, RegisterUser, UpdateTask


async def a_task_with_versions(ws: WriteSide, versions: int) -> list[PublishedEvent]:
    ctx, owner, name, task = as_admin(), uuid.uuid4(), unique(), uuid.uuid4()
    await asyncio.to_thread(
        ws.users.register, RegisterUser(owner, f"{name}@example.com", name, PASSWORD), ctx
    )
    await asyncio.to_thread(ws.tasks.create, CreateTask(task, owner, "v1"), ctx)
    for version in range(2, versions + 1):
        await asyncio.to_thread(ws.tasks.update, UpdateTask(task, title=f"v{version}"), ctx)
    log = PublishedLog(ws.store, EventCodec(default_registry()))
    return await log.stream(str(task), after_version=0)


async def test_a_failure_while_filling_a_gap_names_the_missing_event(
    write_side: WriteSide, read_store: PostgresReadStore
) -> None:
    history = await a_task_with_versions(write_side, 4)
    projector = FailingTasks()
    projector.poison = (history[0].stream_id, 2)
    applier = Applier(
        projector, read_store, PublishedLog(write_side.store, EventCodec(default_registry()))
    )
    await applier.setup()
    session = applier.session()
    assert await applier.apply(session, history[0]) is Outcome.APPLIED

    with pytest.raises(ApplyFailed) as failed:
        await applier.apply(session, history[3])  # v4 first: v2 and v3 are read to fill the gap

    assert failed.value.event.stream_version == 2, "the event that failed, not the one delivered"
    assert (await applier.tracking.state(session, history[0].stream_id)).version == 1
    task = await session.get(projector.table, history[0].stream_id)
    assert task is not None
    assert task["title"] == "v1", "the failed event's writes are undone"


async def test_a_batch_commits_its_documents_with_the_checkpoint_or_nothing(
    write_side: WriteSide, read_store: PostgresReadStore
) -> None:
    history = await a_task_with_versions(write_side, 2)
    log = PublishedLog(write_side.store, EventCodec(default_registry()))
    applier = Applier(FailingTasks(), read_store, log)
    await applier.setup()
    session = applier.session()
    await applier.apply_all(session, history, on_failure=None)
    revision = await applier.commit(session, history[-1].position, 0)

    rival = applier.session()  # computed from the checkpoint before that commit
    await applier.apply_all(rival, history, on_failure=None)
    with pytest.raises(Conflict):
        await applier.commit(rival, history[-1].position, 0)

    assert revision == 1
    assert await applier.tracking.checkpoint(read_store) == (history[-1].position, 1)
    task = await read_store.get(applier.projector.tables[0], history[0].stream_id)
    assert task is not None
    assert (task["title"], task["version"]) == ("v2", 2)

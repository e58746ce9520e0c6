"""The applier against the real event store: which event a failure is blamed on."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from events.catalog import default_registry
from events.codec import EventCodec
from events.published import PublishedEvent
from projections.applier import Applier, ApplyFailed, Outcome
from read_side.memory import MemoryReadStore
from tests.projections.failing import FailingTasks
from tests.support.actors import as_admin
from tests.write_side.api.given import PASSWORD, unique
from write_side.bootstrap import WriteSide
from write_side.commands import CreateTask, RegisterUser, UpdateTask
from write_side.event_log import PublishedLog


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
    write_side: WriteSide,
) -> None:
    history = await a_task_with_versions(write_side, 4)
    projector = FailingTasks()
    projector.poison = (history[0].stream_id, 2)
    applier = Applier(
        projector,
        MemoryReadStore("gap"),
        PublishedLog(write_side.store, EventCodec(default_registry())),
    )
    assert await applier.apply(history[0]) is Outcome.APPLIED

    with pytest.raises(ApplyFailed) as failed:
        await applier.apply(history[3])  # v4 arrives first: v2 and v3 are read to fill the gap

    assert failed.value.event.stream_version == 2, "the event that failed, not the one delivered"
    assert (await applier.tracking.state(history[0].stream_id)).version == 1

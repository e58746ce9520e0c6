"""A user's task counts are changed per batch, yet count every task event exactly once:
across redelivery and a crash between a batch's changes and its flush; and a batch
never reads all of an owner's tasks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from events.published import PublishedEvent
from projections.ports import NoCache
from projections.users import TASK_INDEX, USERS, UsersProjector
from read_side.memory import MemoryReadStore

USER = str(uuid.uuid4())
TASKS = [str(uuid.uuid4()) for _ in range(3)]


def event(type: str, stream: str, version: int, **data: Any) -> PublishedEvent:
    return PublishedEvent(
        event_id=str(uuid.uuid4()), type=type, schema_version=1, stream_id=stream,
        stream_version=version, position=0, occurred_at=datetime(2026, 11, 25, tzinfo=UTC),
        correlation_id=None, causation_id=None, actor=None, data=data,
    )  # fmt: skip


REGISTERED = event("user.registered", USER, 1, email="a@example.com", username="a")
FIRST = [event("task.created", task, 1, user_id=USER) for task in TASKS]
SECOND = [
    event("task.status_changed", TASKS[0], 2, to_status="in_progress"),
    event("task.status_changed", TASKS[1], 2, to_status="done"),
    event("task.deleted", TASKS[2], 2),
    event("task.details_changed", TASKS[0], 3, title="renamed"),
]
EXPECTED = {"todo": 0, "in_progress": 1, "done": 1, "cancelled": 0, "total": 2}


async def applied(projector: UsersProjector, store: Any, *events: PublishedEvent) -> None:
    for each in events:
        await projector.apply(each, store)


async def user(store: MemoryReadStore) -> dict[str, Any]:
    doc = await store.collection(USERS).find_one({"_id": USER})
    assert doc is not None
    return doc


@pytest.fixture
async def store() -> MemoryReadStore:
    store = MemoryReadStore(f"users_{uuid.uuid4().hex[:8]}")
    await UsersProjector(NoCache()).setup(store)
    return store


async def test_batches_add_up_to_what_a_recount_gives(store: MemoryReadStore) -> None:
    projector = UsersProjector(NoCache())
    for batch in ([REGISTERED, *FIRST], SECOND):
        await applied(projector, store, *batch)
        await projector.flush(store)

    assert (await user(store))["task_counts"] == EXPECTED
    assert "_stale" not in await user(store)


async def test_tasks_seen_before_their_owner_are_counted_once(store: MemoryReadStore) -> None:
    projector = UsersProjector(NoCache())
    await applied(projector, store, *FIRST, REGISTERED, *SECOND)
    await projector.flush(store)

    assert (await user(store))["task_counts"] == EXPECTED


async def test_a_redelivered_batch_counts_nothing_twice(store: MemoryReadStore) -> None:
    projector = UsersProjector(NoCache())
    await applied(projector, store, REGISTERED, *FIRST)
    await projector.flush(store)
    for _ in range(2):
        await applied(projector, store, *FIRST, *SECOND)
        await projector.flush(store)

    assert (await user(store))["task_counts"] == EXPECTED


async def test_a_crash_before_the_flush_is_recounted_by_the_next_process(
    store: MemoryReadStore,
) -> None:
    projector = UsersProjector(NoCache())
    await applied(projector, store, REGISTERED, *FIRST)
    await projector.flush(store)
    await applied(UsersProjector(NoCache()), store, *SECOND)  # applied, never flushed
    assert (await user(store))["_stale"] is True

    restarted = UsersProjector(NoCache())
    await restarted.setup(store)
    await applied(restarted, store, *SECOND)  # the unacknowledged batch comes again
    await restarted.flush(store)

    assert (await user(store))["task_counts"] == EXPECTED
    assert "_stale" not in await user(store)


class CountingFinds:
    """The read store, counting finds of many documents in the projector's task index."""

    def __init__(self, inner: MemoryReadStore) -> None:
        self.inner = inner
        self.finds = 0

    def collection(self, name: str) -> Any:
        collection = self.inner.collection(name)
        return _Counted(collection, self) if name == TASK_INDEX else collection

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _Counted:
    def __init__(self, inner: Any, store: CountingFinds) -> None:
        self.inner, self.store = inner, store

    async def find(self, *args: Any, **kwargs: Any) -> Any:
        self.store.finds += 1
        return await self.inner.find(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_batch_of_an_existing_owner_reads_none_of_their_other_tasks(
    store: MemoryReadStore,
) -> None:
    projector = UsersProjector(NoCache())
    await applied(projector, store, REGISTERED, *FIRST)
    await projector.flush(store)
    counting = CountingFinds(store)

    await applied(projector, counting, *SECOND)
    await projector.flush(counting)

    assert counting.finds == 0
    assert (await user(store))["task_counts"] == EXPECTED


async def test_a_registration_applied_again_keeps_the_batchs_changes(
    store: MemoryReadStore,
) -> None:
    """Redelivered after a crash, out of order: its document is there already, so the
    counts it would have taken from the index are not taken, and the batch's stay."""
    projector = UsersProjector(NoCache())
    await applied(projector, store, REGISTERED)
    await projector.flush(store)

    await applied(projector, store, *FIRST, REGISTERED, *SECOND)
    await projector.flush(store)

    assert (await user(store))["task_counts"] == EXPECTED
    assert "_stale" not in await user(store)

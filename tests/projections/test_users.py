"""A user's task counts count every task event exactly once, in whatever batches the
events come: across redelivery, a crash before a commit, and tasks seen before their owner."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from events.published import PublishedEvent
from projections.applier import Applier
from read_side.postgres import PostgresReadStore
from read_side.tables import USERS
from tests.projections.batches import applier_of, committed, crashed

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


async def counts(applier: Applier) -> dict[str, int]:
    doc = await applier.store.get(USERS, USER)
    assert doc is not None
    counted: dict[str, int] = doc["task_counts"]
    return counted


async def test_batches_count_each_change_once(read_store: PostgresReadStore) -> None:
    users = await applier_of("users", read_store)
    await committed(users, REGISTERED, *FIRST)
    await committed(users, *SECOND)

    assert await counts(users) == EXPECTED


async def test_tasks_seen_before_their_owner_are_counted_once(
    read_store: PostgresReadStore,
) -> None:
    users = await applier_of("users", read_store)
    await committed(users, *FIRST)
    await committed(users, REGISTERED, *SECOND)

    assert await counts(users) == EXPECTED


async def test_tasks_and_owner_in_one_batch_are_counted_once(
    read_store: PostgresReadStore,
) -> None:
    users = await applier_of("users", read_store)
    await committed(users, *FIRST, REGISTERED, *SECOND)

    assert await counts(users) == EXPECTED


async def test_redelivered_and_crashed_batches_count_nothing_twice(
    read_store: PostgresReadStore,
) -> None:
    users = await applier_of("users", read_store)
    await committed(users, REGISTERED, *FIRST)
    await crashed(users, *SECOND)
    for _ in range(2):  # the unacknowledged batch comes again, then its ack is lost
        await committed(users, *FIRST, *SECOND)

    assert await counts(users) == EXPECTED


async def test_a_registration_applied_again_keeps_the_counts(
    read_store: PostgresReadStore,
) -> None:
    users = await applier_of("users", read_store)
    await committed(users, REGISTERED)
    await committed(users, *FIRST, REGISTERED, *SECOND)

    assert await counts(users) == EXPECTED

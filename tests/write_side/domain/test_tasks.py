"""The Task aggregate and its status machine, in given / when / then form."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from itertools import product

import pytest

from events.tasks import (
    Priority,
    TaskCancelled,
    TaskCreated,
    TaskDeleted,
    TaskDetailsChanged,
    TaskEvent,
    TaskReopened,
    TaskStatus,
    TaskStatusChanged,
)
from events.users import UserDeactivated, UserDeleted, UserRegistered
from tests.write_side.domain.given import (
    OTHER_USER_ID,
    TASK_ID,
    USER_ID,
    at,
    created,
    envelopes,
    registered,
    task_from,
    task_history,
    task_in,
    user_from,
)
from write_side.domain import tasks
from write_side.domain.errors import InvalidTransition, OwnerUnavailable, TaskNotFound
from write_side.domain.tasks import Task

TODO, IN_PROGRESS, DONE, CANCELLED = (
    TaskStatus.TODO,
    TaskStatus.IN_PROGRESS,
    TaskStatus.DONE,
    TaskStatus.CANCELLED,
)

Outcome = list[TaskEvent] | type[InvalidTransition]

STATUS_TABLE: list[tuple[TaskStatus, TaskStatus, Outcome]] = [
    (TODO, TODO, []),
    (TODO, IN_PROGRESS, [TaskStatusChanged(from_status=TODO, to_status=IN_PROGRESS)]),
    (TODO, DONE, [TaskStatusChanged(from_status=TODO, to_status=DONE)]),
    (TODO, CANCELLED, [TaskCancelled(from_status=TODO)]),
    (IN_PROGRESS, TODO, InvalidTransition),
    (IN_PROGRESS, IN_PROGRESS, []),
    (IN_PROGRESS, DONE, [TaskStatusChanged(from_status=IN_PROGRESS, to_status=DONE)]),
    (IN_PROGRESS, CANCELLED, [TaskCancelled(from_status=IN_PROGRESS)]),
    (DONE, TODO, [TaskReopened(from_status=DONE)]),
    (DONE, IN_PROGRESS, InvalidTransition),
    (DONE, DONE, []),
    (DONE, CANCELLED, InvalidTransition),
    (CANCELLED, TODO, [TaskReopened(from_status=CANCELLED)]),
    (CANCELLED, IN_PROGRESS, InvalidTransition),
    (CANCELLED, DONE, InvalidTransition),
    (CANCELLED, CANCELLED, []),
]


def test_the_status_table_covers_every_pair_once() -> None:
    pairs = [(current, wanted) for current, wanted, _ in STATUS_TABLE]

    assert sorted(pairs) == sorted(product(TaskStatus, TaskStatus))


def test_the_given_histories_leave_the_task_in_each_status() -> None:
    assert {status: task_in(status).status for status in TaskStatus} == {
        status: status for status in TaskStatus
    }


@pytest.mark.parametrize(
    ("current", "wanted", "outcome"),
    STATUS_TABLE,
    ids=[f"{current}->{wanted}" for current, wanted, _ in STATUS_TABLE],
)
def test_change_status(current: TaskStatus, wanted: TaskStatus, outcome: Outcome) -> None:
    history = task_history(current)
    task = task_from(*history)

    if not isinstance(outcome, list):
        with pytest.raises(outcome) as raised:
            tasks.change_status(task, wanted)
        assert (raised.value.current, raised.value.wanted) == (current, wanted)
        return

    events = tasks.change_status(task, wanted)

    assert events == outcome
    after = task_from(*history, *events)
    assert after.status is wanted
    assert after.version == len(history) + len(events)


@pytest.mark.parametrize(
    ("current", "outcome"),
    [(current, outcome) for current, wanted, outcome in STATUS_TABLE if wanted is DONE],
)
def test_complete_is_change_status_to_done(current: TaskStatus, outcome: Outcome) -> None:
    task = task_in(current)

    if isinstance(outcome, list):
        assert tasks.complete(task) == outcome
    else:
        with pytest.raises(outcome):
            tasks.complete(task)


def test_create_for_an_active_owner() -> None:
    owner = user_from(registered())

    events = tasks.create(
        owner,
        USER_ID,
        title="Write tests",
        description="All of them",
        priority=Priority.HIGH,
        due_date=date(2024, 6, 1),
    )

    assert events == [
        TaskCreated(
            user_id=USER_ID,
            title="Write tests",
            description="All of them",
            priority=Priority.HIGH,
            due_date=date(2024, 6, 1),
        )
    ]


def test_create_defaults_to_medium_priority_and_no_details() -> None:
    events = tasks.create(user_from(registered()), USER_ID, title="Write tests")

    assert events == [
        TaskCreated(
            user_id=USER_ID,
            title="Write tests",
            description=None,
            priority=Priority.MEDIUM,
            due_date=None,
        )
    ]


def test_a_created_task_is_todo_at_version_one() -> None:
    events = tasks.create(user_from(registered()), USER_ID, title="Write tests")

    assert task_from(*events) == Task(
        id=TASK_ID,
        version=1,
        user_id=USER_ID,
        title="Write tests",
        description=None,
        status=TODO,
        priority=Priority.MEDIUM,
        due_date=None,
        created_at=at(1),
        updated_at=at(1),
        deleted=False,
    )


def test_create_without_an_owner_is_refused() -> None:
    with pytest.raises(OwnerUnavailable) as raised:
        tasks.create(None, OTHER_USER_ID, title="Write tests")

    assert raised.value.field == "user_id"
    assert str(OTHER_USER_ID) in str(raised.value)


@pytest.mark.parametrize(
    "owner_history",
    [
        pytest.param([registered(), UserDeactivated()], id="inactive"),
        pytest.param([registered(), UserDeleted()], id="deleted"),
    ],
)
def test_create_for_an_unavailable_owner_is_refused(
    owner_history: list[UserRegistered | UserDeactivated | UserDeleted],
) -> None:
    owner = user_from(*owner_history)

    with pytest.raises(OwnerUnavailable):
        tasks.create(owner, USER_ID, title="Write tests")


def test_change_details_decides_all_details_after_the_change() -> None:
    history: list[TaskEvent] = [created(title="Old", priority=Priority.LOW)]

    events = tasks.change_details(
        task_from(*history),
        title="New",
        description="Now with a description",
        priority=Priority.URGENT,
        due_date=date(2024, 6, 1),
    )

    assert events == [
        TaskDetailsChanged(
            title="New",
            description="Now with a description",
            priority=Priority.URGENT,
            due_date=date(2024, 6, 1),
        )
    ]
    after = task_from(*history, *events)
    assert (after.title, after.description, after.priority, after.due_date) == (
        "New",
        "Now with a description",
        Priority.URGENT,
        date(2024, 6, 1),
    )
    assert (after.version, after.updated_at, after.created_at) == (2, at(2), at(1))


@pytest.mark.parametrize(
    ("title", "description", "priority", "due_date"),
    [
        pytest.param("Other", "Same", Priority.LOW, date(2024, 6, 1), id="title"),
        pytest.param("Same", "Other", Priority.LOW, date(2024, 6, 1), id="description"),
        pytest.param("Same", None, Priority.LOW, date(2024, 6, 1), id="description-cleared"),
        pytest.param("Same", "Same", Priority.URGENT, date(2024, 6, 1), id="priority"),
        pytest.param("Same", "Same", Priority.LOW, date(2024, 6, 2), id="due-date"),
        pytest.param("Same", "Same", Priority.LOW, None, id="due-date-cleared"),
    ],
)
def test_change_details_detects_a_change_of_any_single_field(
    title: str, description: str | None, priority: Priority, due_date: date | None
) -> None:
    task = task_from(
        created(title="Same", description="Same", priority=Priority.LOW, due_date=date(2024, 6, 1))
    )

    events = tasks.change_details(
        task, title=title, description=description, priority=priority, due_date=due_date
    )

    assert events == [
        TaskDetailsChanged(
            title=title, description=description, priority=priority, due_date=due_date
        )
    ]


def test_change_details_to_the_current_details_decides_nothing() -> None:
    task = task_from(
        created(title="Same", description=None, priority=Priority.LOW, due_date=date(2024, 6, 1))
    )

    events = tasks.change_details(
        task, title="Same", description=None, priority=Priority.LOW, due_date=date(2024, 6, 1)
    )

    assert events == []


def test_changing_details_keeps_the_status() -> None:
    history = task_history(DONE)

    events = tasks.change_details(
        task_from(*history), title="Renamed", description=None, priority=Priority.LOW, due_date=None
    )

    assert task_from(*history, *events).status is DONE


@pytest.mark.parametrize("status", list(TaskStatus))
def test_delete_decides_task_deleted_with_the_owner(status: TaskStatus) -> None:
    history = task_history(status)

    events = tasks.delete(task_from(*history))

    assert events == [TaskDeleted(user_id=USER_ID)]
    after = task_from(*history, *events)
    assert after.deleted
    assert after.status is status


def test_existing_returns_a_live_task() -> None:
    task = task_in(DONE)

    assert tasks.existing(task, TASK_ID) is task


def test_existing_refuses_a_task_that_never_existed() -> None:
    with pytest.raises(TaskNotFound) as raised:
        tasks.existing(None, TASK_ID)

    assert raised.value.stream_id == TASK_ID


def test_existing_refuses_a_deleted_task() -> None:
    deleted = task_from(*task_history(), TaskDeleted(user_id=USER_ID))

    with pytest.raises(TaskNotFound) as raised:
        tasks.existing(deleted, TASK_ID)

    assert raised.value.stream_id == TASK_ID


def test_replay_of_an_empty_stream_is_none() -> None:
    assert tasks.replay([]) is None


def test_replay_of_a_stream_that_does_not_start_with_task_created_is_none() -> None:
    assert tasks.replay(envelopes(TASK_ID, [TaskCancelled(from_status=TODO)])) is None


def test_replay_of_a_user_stream_is_none() -> None:
    assert tasks.replay(envelopes(TASK_ID, [registered()])) is None


def test_replay_folds_new_events_onto_a_given_state() -> None:
    before = task_in(TODO)
    later = envelopes(
        TASK_ID,
        [
            TaskStatusChanged(from_status=TODO, to_status=IN_PROGRESS),
            TaskCancelled(from_status=IN_PROGRESS),
            TaskReopened(from_status=CANCELLED),
        ],
        after_version=before.version,
    )

    assert tasks.replay(later, before) == replace(before, version=4, updated_at=at(4))

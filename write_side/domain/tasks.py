"""The Task aggregate and its status machine.

Forward along todo -> in_progress -> done (skipping in_progress is allowed);
cancelled from any open state; reopened (back to todo) from done or cancelled.
Setting the status a task already has changes nothing. Anything else is an
InvalidTransition.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from uuid import UUID

from events.envelope import Envelope
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
from write_side.domain.errors import InvalidTransition, OwnerUnavailable, TaskNotFound
from write_side.domain.users import User, UserStatus

OPEN = frozenset({TaskStatus.TODO, TaskStatus.IN_PROGRESS})
CLOSED = frozenset({TaskStatus.DONE, TaskStatus.CANCELLED})
_FORWARD = {
    TaskStatus.TODO: frozenset({TaskStatus.IN_PROGRESS, TaskStatus.DONE}),
    TaskStatus.IN_PROGRESS: frozenset({TaskStatus.DONE}),
}


@dataclass(frozen=True, slots=True)
class Task:
    id: UUID
    version: int
    user_id: UUID
    title: str
    description: str | None
    status: TaskStatus
    priority: Priority
    due_date: date | None
    created_at: datetime
    updated_at: datetime
    deleted: bool = False


def evolve(state: Task | None, envelope: Envelope[TaskEvent]) -> Task:
    event, at = envelope.event, envelope.occurred_at
    if isinstance(event, TaskCreated):
        return Task(
            id=envelope.stream_id,
            version=envelope.stream_version,
            user_id=event.user_id,
            title=event.title,
            description=event.description,
            status=TaskStatus.TODO,
            priority=event.priority,
            due_date=event.due_date,
            created_at=at,
            updated_at=at,
        )
    assert state is not None, "a task stream starts with TaskCreated"
    state = replace(state, version=envelope.stream_version, updated_at=at)
    match event:
        case TaskDetailsChanged():
            return replace(
                state,
                title=event.title,
                description=event.description,
                priority=event.priority,
                due_date=event.due_date,
            )
        case TaskStatusChanged(to_status=to_status):
            return replace(state, status=to_status)
        case TaskCancelled():
            return replace(state, status=TaskStatus.CANCELLED)
        case TaskReopened():
            return replace(state, status=TaskStatus.TODO)
        case TaskDeleted():
            return replace(state, deleted=True)
    raise TypeError(f"not a task event: {event!r}")


def replay(envelopes: Iterable[Envelope[Any]], state: Task | None = None) -> Task | None:
    """The task as of the last envelope, folded onto ``state``.

    None if there is nothing to fold or the stream is not a task's.
    """
    for envelope in envelopes:
        if state is None and not isinstance(envelope.event, TaskCreated):
            return None
        state = evolve(state, envelope)
    return state


def existing(task: Task | None, task_id: UUID) -> Task:
    if task is None or task.deleted:
        raise TaskNotFound(task_id)
    return task


def create(
    owner: User | None,
    owner_id: UUID,
    *,
    title: str,
    description: str | None = None,
    priority: Priority = Priority.MEDIUM,
    due_date: date | None = None,
) -> list[TaskEvent]:
    if owner is None or owner.status is not UserStatus.ACTIVE:
        raise OwnerUnavailable(owner_id)
    return [
        TaskCreated(
            user_id=owner.id,
            title=title,
            description=description,
            priority=priority,
            due_date=due_date,
        )
    ]


def change_details(
    task: Task,
    *,
    title: str,
    description: str | None,
    priority: Priority,
    due_date: date | None,
) -> list[TaskEvent]:
    if (title, description, priority, due_date) == (
        task.title,
        task.description,
        task.priority,
        task.due_date,
    ):
        return []
    return [
        TaskDetailsChanged(
            title=title, description=description, priority=priority, due_date=due_date
        )
    ]


def change_status(task: Task, wanted: TaskStatus) -> list[TaskEvent]:
    current = task.status
    if wanted == current:
        return []
    if wanted in _FORWARD.get(current, ()):
        return [TaskStatusChanged(from_status=current, to_status=wanted)]
    if wanted is TaskStatus.CANCELLED and current in OPEN:
        return [TaskCancelled(from_status=current)]
    if wanted is TaskStatus.TODO and current in CLOSED:
        return [TaskReopened(from_status=current)]
    raise InvalidTransition("task", current, wanted)


def complete(task: Task) -> list[TaskEvent]:
    return change_status(task, TaskStatus.DONE)


def delete(task: Task) -> list[TaskEvent]:
    return [TaskDeleted(user_id=task.user_id)]

"""Builders for the given-events side of domain tests: events in envelopes, and state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid5

from events.base import DomainEvent
from events.envelope import Envelope
from events.tasks import (
    TaskCancelled,
    TaskCreated,
    TaskEvent,
    TaskStatus,
    TaskStatusChanged,
)
from events.users import UserEvent, UserRegistered
from write_side.domain import tasks, users
from write_side.domain.tasks import Task
from write_side.domain.users import User

E = TypeVar("E", bound=DomainEvent)

USER_ID = UUID("00000000-0000-4000-8000-0000000000a1")
OTHER_USER_ID = UUID("00000000-0000-4000-8000-0000000000a2")
TASK_ID = UUID("00000000-0000-4000-8000-0000000000b1")
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
"""Envelope ``n`` of a stream (1-based) occurred ``n - 1`` seconds after T0."""


def at(stream_version: int) -> datetime:
    return T0 + timedelta(seconds=stream_version - 1)


def envelopes(stream_id: UUID, events: Sequence[E], *, after_version: int = 0) -> list[Envelope[E]]:
    """The events as the next entries of a stream at ``after_version``."""
    wrapped = []
    for offset, event in enumerate(events, start=1):
        version = after_version + offset
        wrapped.append(
            Envelope(
                event=event,
                event_id=uuid5(stream_id, str(version)),
                stream_id=stream_id,
                stream_version=version,
                occurred_at=at(version),
            )
        )
    return wrapped


def registered(**overrides: Any) -> UserRegistered:
    fields: dict[str, Any] = {
        "email": "ada@example.com",
        "username": "ada",
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        "full_name": "Ada Lovelace",
        "bio": "Analyst",
    }
    return UserRegistered(**(fields | overrides))


def user_from(*events: UserEvent, user_id: UUID = USER_ID) -> User:
    """The user after the given history, which must start with UserRegistered."""
    user = users.replay(envelopes(user_id, events))
    assert user is not None, "a user history starts with UserRegistered"
    return user


def created(**overrides: Any) -> TaskCreated:
    fields: dict[str, Any] = {"user_id": USER_ID, "title": "Write tests"}
    return TaskCreated(**(fields | overrides))


_HISTORY_TO: dict[TaskStatus, tuple[TaskEvent, ...]] = {
    TaskStatus.TODO: (),
    TaskStatus.IN_PROGRESS: (
        TaskStatusChanged(from_status=TaskStatus.TODO, to_status=TaskStatus.IN_PROGRESS),
    ),
    TaskStatus.DONE: (TaskStatusChanged(from_status=TaskStatus.TODO, to_status=TaskStatus.DONE),),
    TaskStatus.CANCELLED: (TaskCancelled(from_status=TaskStatus.TODO),),
}


def task_history(status: TaskStatus = TaskStatus.TODO) -> list[TaskEvent]:
    """A task history that leaves the task in ``status``."""
    return [created(), *_HISTORY_TO[status]]


def task_from(*events: TaskEvent, task_id: UUID = TASK_ID) -> Task:
    """The task after the given history, which must start with TaskCreated."""
    task = tasks.replay(envelopes(task_id, events))
    assert task is not None, "a task history starts with TaskCreated"
    return task


def task_in(status: TaskStatus) -> Task:
    return task_from(*task_history(status))

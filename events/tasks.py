"""Events of the Task stream, and the vocabulary they share with the read side."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from events.base import DomainEvent


class TaskStatus(StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class TaskCreated(DomainEvent):
    type_name = "task.created"

    user_id: UUID
    title: str
    description: str | None = None
    priority: Priority = Priority.MEDIUM
    due_date: date | None = None


class TaskDetailsChanged(DomainEvent):
    """Carries all details after the change, so applying it twice changes nothing."""

    type_name = "task.details_changed"

    title: str
    description: str | None
    priority: Priority
    due_date: date | None


class TaskStatusChanged(DomainEvent):
    """A forward move along todo -> in_progress -> done."""

    type_name = "task.status_changed"

    from_status: TaskStatus
    to_status: TaskStatus


class TaskCancelled(DomainEvent):
    type_name = "task.cancelled"

    from_status: TaskStatus


class TaskReopened(DomainEvent):
    type_name = "task.reopened"

    from_status: TaskStatus


class TaskDeleted(DomainEvent):
    type_name = "task.deleted"

    user_id: UUID


TaskEvent = (
    TaskCreated
    | TaskDetailsChanged
    | TaskStatusChanged
    | TaskCancelled
    | TaskReopened
    | TaskDeleted
)

"""Commands: what a caller asks the write side to do, named in the imperative.

PATCH-style commands use UNSET for "leave as it is", which differs from None
("clear it").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, Final, Literal
from uuid import UUID

from events.tasks import Priority, TaskStatus
from events.users import Role


class _Unset(Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
Unset = Literal[_Unset.UNSET]


@dataclass(frozen=True, slots=True)
class RegisterUser:
    user_id: UUID
    email: str
    username: str
    password: str
    full_name: str | None = None
    bio: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeRole:
    user_id: UUID
    role: Role


@dataclass(frozen=True, slots=True)
class UpdateUser:
    user_id: UUID
    email: str | Unset = UNSET
    username: str | Unset = UNSET
    full_name: str | Unset | None = UNSET
    bio: str | Unset | None = UNSET


@dataclass(frozen=True, slots=True)
class ChangePassword:
    user_id: UUID
    current_password: str
    new_password: str


@dataclass(frozen=True, slots=True)
class DeactivateUser:
    user_id: UUID


@dataclass(frozen=True, slots=True)
class ReactivateUser:
    user_id: UUID


@dataclass(frozen=True, slots=True)
class DeleteUser:
    user_id: UUID


@dataclass(frozen=True, slots=True)
class CreateTask:
    task_id: UUID
    user_id: UUID
    title: str
    description: str | None = None
    priority: Priority = Priority.MEDIUM
    due_date: date | None = None


@dataclass(frozen=True, slots=True)
class UpdateTask:
    task_id: UUID
    title: str | Unset = UNSET
    description: str | Unset | None = UNSET
    priority: Priority | Unset = UNSET
    due_date: date | Unset | None = UNSET
    status: TaskStatus | Unset = UNSET


@dataclass(frozen=True, slots=True)
class CompleteTask:
    task_id: UUID


@dataclass(frozen=True, slots=True)
class DeleteTask:
    task_id: UUID


@dataclass(frozen=True, slots=True)
class TrackActivity:
    activity_id: UUID
    event_type: str
    event_name: str
    category: str | None = None
    user_id: UUID | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    source_service: str | None = None

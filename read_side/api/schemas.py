"""Response shapes of the query API, for its OpenAPI document."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from events.tasks import Priority, TaskStatus

T = TypeVar("T")


class TaskCounts(BaseModel):
    todo: int
    in_progress: int
    done: int
    cancelled: int
    total: int


class UserView(BaseModel):
    id: str
    email: str
    username: str
    full_name: str | None
    bio: str | None
    status: str
    role: str
    created_at: str
    updated_at: str
    version: int
    task_counts: TaskCounts


class TaskView(BaseModel):
    id: str
    user_id: str
    title: str
    description: str | None
    status: TaskStatus
    priority: Priority
    due_date: str | None
    created_at: str
    updated_at: str
    version: int


class AnalyticsEventView(BaseModel):
    id: str
    event_type: str
    event_name: str
    category: str | None
    user_id: str | None
    properties: dict[str, Any]
    source_service: str | None
    timestamp: str


class TopEvent(BaseModel):
    event_name: str
    count: int


class SummaryView(BaseModel):
    user_id: str
    total_events: int
    last_activity: str | None
    top_events: list[TopEvent]
    by_type: dict[str, int]
    by_day: dict[str, int]


class AuditEntry(BaseModel):
    event_id: str
    stream_id: str
    stream_version: int
    position: int
    type: str
    occurred_at: str
    actor: str | None
    correlation_id: str | None
    causation_id: str | None
    changes: dict[str, Any]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    has_next: bool
    has_prev: bool

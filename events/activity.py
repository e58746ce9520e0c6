"""Tracked activity: analytics facts recorded as events, so they replay like the rest."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import Field

from events.base import DomainEvent


class ActivityTracked(DomainEvent):
    type_name = "activity.tracked"

    event_type: str
    event_name: str
    category: str | None = None
    user_id: UUID | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    source_service: str | None = None

"""Tracked activity: a one-event stream per tracked fact."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from events.activity import ActivityTracked
from events.envelope import Envelope


@dataclass(frozen=True, slots=True)
class Activity:
    id: UUID
    version: int
    tracked: ActivityTracked
    timestamp: datetime


def replay(envelopes: Iterable[Envelope[Any]]) -> Activity | None:
    for envelope in envelopes:
        if isinstance(envelope.event, ActivityTracked):
            return Activity(
                envelope.stream_id, envelope.stream_version, envelope.event, envelope.occurred_at
            )
    return None

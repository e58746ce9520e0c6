"""The published form of an event: what leaves the write side, in JSON types.

The relay publishes it, projectors consume it, and gap repair converts stored
events to it through the same codec path, so write-only fields (password
hashes) can never reach the read side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class PublishedEvent:
    event_id: str
    type: str
    schema_version: int
    stream_id: str
    stream_version: int
    position: int
    occurred_at: datetime
    correlation_id: str | None
    causation_id: str | None
    actor: str | None
    data: dict[str, Any]

    @property
    def aggregate(self) -> str:
        """The stream kind: ``user``, ``task`` or ``activity``."""
        return self.type.partition(".")[0]

    @property
    def routing_key(self) -> str:
        return self.type

"""The envelope: an event plus the metadata every stored event carries."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from events.base import DomainEvent

E_co = TypeVar("E_co", bound=DomainEvent, covariant=True)


@dataclass(frozen=True, slots=True)
class Envelope(Generic[E_co]):
    """An event in its stream.

    ``position`` is the global, gap-free-in-commit-order position in the event
    store; it is None until the event has been stored. A plain dataclass, not a
    pydantic model, because replay builds millions of these.
    """

    event: E_co
    event_id: UUID
    stream_id: UUID
    stream_version: int
    occurred_at: datetime
    correlation_id: str | None = None
    causation_id: str | None = None
    actor: str | None = None
    position: int | None = None

    @property
    def type_name(self) -> str:
        return self.event.type_name

    @property
    def schema_version(self) -> int:
        return self.event.schema_version

    def at_position(self, position: int) -> Envelope[E_co]:
        return replace(self, position=position)

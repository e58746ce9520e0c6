"""The audit trail: every published event of every stream, with who, when and why."""

from __future__ import annotations

from collections.abc import Sequence

from events.published import PublishedEvent
from projections.projector import utc_text
from projections.session import Session
from read_side.generations import at
from read_side.store import Table
from read_side.tables import AUDIT


class AuditProjector:
    name = "audit"

    def __init__(self, generation: int = 0) -> None:
        self.generation = generation
        self.table = at(AUDIT, generation)
        self.tables = (self.table,)
        self.cached: dict[Table, str] = {}

    def handles(self, event: PublishedEvent) -> bool:
        return True

    def tracks(self, event: PublishedEvent) -> bool:
        return False  # keyed by event id and sorted by version on read: order does not matter

    async def prefetch(self, events: Sequence[PublishedEvent], session: Session) -> None:
        return None  # written unread: an entry never changes

    async def apply(self, event: PublishedEvent, session: Session) -> None:
        session.insert(
            self.table,
            event.event_id,
            {
                "event_id": event.event_id,
                "stream_id": event.stream_id,
                "stream_version": event.stream_version,
                "position": event.position,
                "type": event.type,
                "occurred_at": utc_text(event.occurred_at),
                "actor": event.actor,
                "correlation_id": event.correlation_id,
                "causation_id": event.causation_id,
                "changes": event.data,
            },
        )

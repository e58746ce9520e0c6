"""The audit trail: every published event of every stream, with who, when and why."""

from __future__ import annotations

from events.published import PublishedEvent
from projections.projector import utc_text
from read_side.store import ReadStore

AUDIT = "audit"


class AuditProjector:
    name = "audit"
    collections = (AUDIT,)

    def handles(self, event: PublishedEvent) -> bool:
        return True

    def tracks(self, event: PublishedEvent) -> bool:
        return False  # keyed by event id and sorted by version on read: order does not matter

    async def setup(self, store: ReadStore) -> None:
        await store.collection(AUDIT).create_index([("stream_id", 1), ("stream_version", 1)])
        await store.collection(AUDIT).create_index([("correlation_id", 1)])

    async def apply(self, event: PublishedEvent, store: ReadStore) -> None:
        await store.collection(AUDIT).insert_one(
            {
                "_id": event.event_id,
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
            }
        )

    async def flush(self, store: ReadStore) -> None:
        return None

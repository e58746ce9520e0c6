"""JSON (orjson) encoding of envelopes: one format for storage, one for publishing.

Stored state is ``{"v": schema_version, "meta": {...}, "data": {...}}``; stream id,
version and position live in the event store's own columns, not in the state.
The published form (events.published) is what leaves the write side: write-only
fields stripped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from events.base import READ_BACK
from events.envelope import Envelope
from events.published import PublishedEvent
from events.registry import EventRegistry

_READ_BACK = {READ_BACK: True}


class EventCodec:
    def __init__(self, registry: EventRegistry) -> None:
        self.registry = registry

    def encode(self, envelope: Envelope[Any]) -> bytes:
        return orjson.dumps(
            {
                "v": envelope.schema_version,
                "meta": {
                    "event_id": envelope.event_id,
                    "occurred_at": envelope.occurred_at,
                    "correlation_id": envelope.correlation_id,
                    "causation_id": envelope.causation_id,
                    "actor": envelope.actor,
                },
                "data": envelope.event.model_dump(mode="json"),
            }
        )

    def decode(
        self,
        *,
        type_name: str,
        state: bytes,
        stream_id: UUID,
        stream_version: int,
        position: int | None = None,
    ) -> Envelope[Any]:
        stored = orjson.loads(state)
        meta = stored["meta"]
        cls = self.registry.resolve(type_name)
        payload = self.registry.upcast(type_name, stored["v"], stored["data"])
        return Envelope(
            event=cls.model_validate(payload, context=_READ_BACK),
            event_id=UUID(meta["event_id"]),
            stream_id=stream_id,
            stream_version=stream_version,
            occurred_at=datetime.fromisoformat(meta["occurred_at"]),
            correlation_id=meta["correlation_id"],
            causation_id=meta["causation_id"],
            actor=meta["actor"],
            position=position,
        )

    def to_published(self, envelope: Envelope[Any]) -> PublishedEvent:
        """The form that may leave the write side: write-only fields stripped."""
        assert envelope.position is not None, "only stored events are published"
        return PublishedEvent(
            event_id=str(envelope.event_id),
            type=envelope.type_name,
            schema_version=envelope.schema_version,
            stream_id=str(envelope.stream_id),
            stream_version=envelope.stream_version,
            position=envelope.position,
            occurred_at=envelope.occurred_at,
            correlation_id=envelope.correlation_id,
            causation_id=envelope.causation_id,
            actor=envelope.actor,
            data=envelope.event.public_payload(),
        )

    def public_message(self, envelope: Envelope[Any]) -> bytes:
        return orjson.dumps(self.to_published(envelope))

    @staticmethod
    def decode_message(body: bytes) -> PublishedEvent:
        """Parses a published message; raises ValueError/KeyError/TypeError if malformed."""
        fields = orjson.loads(body)
        fields["occurred_at"] = datetime.fromisoformat(fields["occurred_at"])
        return PublishedEvent(**fields)

"""The event store as projections read it: async, and only in its published form."""

from __future__ import annotations

import asyncio
from uuid import UUID

from events.codec import EventCodec
from events.published import PublishedEvent
from write_side.postgres import PostgresEventStore


class PublishedLog:
    def __init__(self, store: PostgresEventStore, codec: EventCodec) -> None:
        self.store = store
        self.codec = codec

    async def stream(
        self, stream_id: str, *, after_version: int, up_to_version: int | None = None
    ) -> list[PublishedEvent]:
        envelopes = await asyncio.to_thread(
            self.store.read_stream,
            UUID(stream_id),
            after_version=after_version,
            up_to_version=up_to_version,
        )
        return [self.codec.to_published(e) for e in envelopes if e.event.published]

    async def read_all(self, after_position: int, limit: int) -> tuple[list[PublishedEvent], int]:
        envelopes = await asyncio.to_thread(self.store.read_all, after_position, limit)
        if not envelopes:
            return [], after_position
        last = envelopes[-1].position
        assert last is not None
        return [self.codec.to_published(e) for e in envelopes if e.event.published], last

    async def head(self) -> int:
        return await asyncio.to_thread(self.store.head)

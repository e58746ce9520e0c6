"""The event store as projections read it (their EventSource port): async, only in its
published form, and unavailable as projections know it, so that a projector retries an
event store outage as it retries a read-store one. It joins the write side's store to
the projections' port, so it lives with the composition root."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from events.codec import EventCodec
from events.published import PublishedEvent
from projections.ports import SourceUnavailable
from write_side.event_store import StoreUnavailable
from write_side.postgres import PostgresEventStore

T = TypeVar("T")


class PublishedLog:
    def __init__(self, store: PostgresEventStore, codec: EventCodec) -> None:
        self.store = store
        self.codec = codec

    async def stream(
        self, stream_id: str, *, after_version: int, up_to_version: int | None = None
    ) -> list[PublishedEvent]:
        envelopes = await _read(
            lambda: self.store.read_stream(
                UUID(stream_id), after_version=after_version, up_to_version=up_to_version
            )
        )
        return [self.codec.to_published(e) for e in envelopes if e.event.published]

    async def read_all(self, after_position: int, limit: int) -> tuple[list[PublishedEvent], int]:
        envelopes = await _read(lambda: self.store.read_all(after_position, limit))
        if not envelopes:
            return [], after_position
        last = envelopes[-1].position
        assert last is not None
        return [self.codec.to_published(e) for e in envelopes if e.event.published], last

    async def head(self) -> int:
        return await _read(self.store.head)


async def _read(read: Callable[[], T]) -> T:
    try:
        return await asyncio.to_thread(read)
    except StoreUnavailable as error:
        raise SourceUnavailable(str(error)) from error

"""Applies published events to one projector exactly once, in each stream's order.

Delivery is at least once and, after redeliveries, not always in order. For
the streams a projector tracks, a duplicate or older event is ignored, a gap is
repaired by reading the missing events from the event store first, and a
stream whose event was dead-lettered holds back its later events until that
dead letter is resolved. Untracked events rely on the projector's own
idempotence (documents keyed by event id). Progress is stored per batch
(Tracking.batch), so after a batch fails all its events come again: tracked
projectors must be idempotent too, as every one here is (version-guarded
writes, recounts, documents keyed by event id).
"""

from __future__ import annotations

from enum import StrEnum

from events.published import PublishedEvent
from projections.ports import EventSource
from projections.projector import Projector
from projections.tracking import Tracking
from read_side.store import ReadStore, StoreUnavailable


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    WAITING = "waiting"
    """Held back behind a dead-lettered event of the same stream."""


class ApplyFailed(Exception):
    """The projector could not apply ``event``: the one delivered, or one read to fill a gap."""

    def __init__(self, event: PublishedEvent, error: Exception) -> None:
        super().__init__(f"{event.type} v{event.stream_version} of {event.stream_id}: {error!r}")
        self.event = event
        self.error = error


class Applier:
    def __init__(self, projector: Projector, store: ReadStore, source: EventSource) -> None:
        self.projector = projector
        self.store = store
        self.source = source
        self.tracking = Tracking(store, projector.name)

    async def apply(self, event: PublishedEvent) -> Outcome:
        """Raises ApplyFailed naming the event that failed; StoreUnavailable passes through."""
        if not self.projector.handles(event):
            return Outcome.IGNORED
        if not self.projector.tracks(event):
            await self._apply(event)
            return Outcome.APPLIED
        state = await self.tracking.state(event.stream_id)
        if state.blocked_at is not None:
            return Outcome.WAITING
        if event.stream_version <= state.version:
            return Outcome.DUPLICATE
        if event.stream_version > state.version + 1:
            for missing in await self.source.stream(
                event.stream_id,
                after_version=state.version,
                up_to_version=event.stream_version - 1,
            ):
                await self._apply_tracked(missing)
        await self._apply_tracked(event)
        return Outcome.APPLIED

    async def _apply_tracked(self, event: PublishedEvent) -> None:
        await self._apply(event)
        await self.tracking.advance(event.stream_id, event.stream_version)

    async def _apply(self, event: PublishedEvent) -> None:
        try:
            await self.projector.apply(event, self.store)
        except StoreUnavailable:
            raise
        except Exception as error:
            raise ApplyFailed(event, error) from error

    async def block(self, event: PublishedEvent) -> None:
        """Holds the event's stream back after its event was dead-lettered."""
        if self.projector.handles(event) and self.projector.tracks(event):
            await self.tracking.block(event.stream_id, event.stream_version)

    async def resume(self, stream_id: str) -> int:
        """Releases a held-back stream and catches it up from the event store, in order.

        Returns how many events it applied.
        """
        await self.tracking.unblock(stream_id)
        state = await self.tracking.state(stream_id)
        missing = await self.source.stream(stream_id, after_version=state.version)
        for event in missing:
            await self._apply_tracked(event)
        return len(missing)

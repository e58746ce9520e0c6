"""Applies published events to one projector's generation exactly once, in stream order.

Delivery is at least once and, after redeliveries, not always in order. For the
streams a projector tracks, a duplicate or older event is ignored, a gap is repaired by
reading the missing events from the event store first, and a stream whose event was
dead-lettered holds back its later events until that dead letter is resolved.
Untracked events rely on the projector's own idempotence (documents keyed by event
id). A batch's writes, its per-stream progress and its checkpoint are committed
together (projections.session), so a batch is applied whole or not at all, and the
documents the projector caches are written to Redis once committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum

import orjson

from events.published import PublishedEvent
from projections.ports import DocumentCache, EventSource, NoCache
from projections.projector import Projector
from projections.session import Session
from projections.tracking import Tracking
from read_side.store import REV, Changes, ReadStore, StoreUnavailable, Table, public_view

TOMBSTONE = 2**62
"""The cache version of a deleted document: a deleted stream never gets another event."""


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


OnFailure = Callable[[ApplyFailed, Session], Awaitable[None]]
"""Deals with an event the projector cannot apply (the runner dead-letters it)."""


class Applier:
    def __init__(
        self,
        projector: Projector,
        store: ReadStore,
        source: EventSource,
        cache: DocumentCache | None = None,
    ) -> None:
        self.projector = projector
        self.store = store
        self.source = source
        self.cache = cache or NoCache()
        self.tracking = Tracking(projector.name, projector.generation)

    @property
    def tables(self) -> tuple[Table, ...]:
        """Everything this generation holds: what a rebuild replaces."""
        return (*self.projector.tables, *self.tracking.tables)

    async def setup(self) -> None:
        await self.store.create(self.tables)

    def session(self) -> Session:
        return Session(self.store)

    async def apply_all(
        self, session: Session, events: Sequence[PublishedEvent], on_failure: OnFailure | None
    ) -> None:
        """Applies a batch's events in order, after loading what they need in a few reads.

        An event that fails goes to ``on_failure``, or without one stops the batch."""
        handled = [e for e in events if self.projector.handles(e)]
        await self.tracking.prefetch(
            session, {e.stream_id for e in handled if self.projector.tracks(e)}
        )
        await self.projector.prefetch(handled, session)
        for event in events:
            try:
                await self.apply(session, event)
            except ApplyFailed as failure:
                if on_failure is None:
                    raise
                await on_failure(failure, session)

    async def apply(self, session: Session, event: PublishedEvent) -> Outcome:
        """Raises ApplyFailed naming the event that failed; StoreUnavailable passes through."""
        if not self.projector.handles(event):
            return Outcome.IGNORED
        if not self.projector.tracks(event):
            await self._apply(session, event)
            return Outcome.APPLIED
        state = await self.tracking.state(session, event.stream_id)
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
                await self._apply_tracked(session, missing)
        await self._apply_tracked(session, event)
        return Outcome.APPLIED

    async def _apply_tracked(self, session: Session, event: PublishedEvent) -> None:
        await self._apply(session, event)
        await self.tracking.advance(session, event.stream_id, event.stream_version)

    async def _apply(self, session: Session, event: PublishedEvent) -> None:
        try:
            with session.undoable():
                await self.projector.apply(event, session)
        except StoreUnavailable:
            raise
        except Exception as error:
            raise ApplyFailed(event, error) from error

    async def block(self, session: Session, event: PublishedEvent) -> None:
        """Holds the event's stream back after its event was dead-lettered."""
        if self.projector.handles(event) and self.projector.tracks(event):
            await self.tracking.block(session, event.stream_id, event.stream_version)

    async def resume(self, session: Session, stream_id: str) -> int:
        """Releases a held-back stream and catches it up from the event store, in order.

        Returns how many events it applied.
        """
        await self.tracking.unblock(session, stream_id)
        state = await self.tracking.state(session, stream_id)
        missing = await self.source.stream(stream_id, after_version=state.version)
        for event in missing:
            await self._apply_tracked(session, event)
        return len(missing)

    async def commit(self, session: Session, position: int, revision: int) -> int:
        """Commits the batch with the checkpoint at ``position``, computed from the
        checkpoint at ``revision``; returns the checkpoint's new revision. Raises
        Conflict if another writer moved the checkpoint meanwhile."""
        await self.tracking.save_checkpoint(session, position, revision)
        await self._cache(await session.commit())
        return revision + 1

    async def _cache(self, changes: Changes) -> None:
        if not self.cache.enabled:
            return
        for table, kind in self.projector.cached.items():
            for key, document in changes.puts.get(table, {}).items():
                await self.cache.put(kind, key, document[REV], orjson.dumps(public_view(document)))
            for key in changes.deletes.get(table, ()):
                await self.cache.put_tombstone(kind, key, TOMBSTONE)

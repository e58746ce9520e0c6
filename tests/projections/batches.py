"""Driving one projector's applier batch by batch, as the runner does, without a broker."""

from __future__ import annotations

from events.published import PublishedEvent
from projections.applier import Applier
from projections.catalog import PROJECTORS
from projections.ports import NoCache
from projections.tracking import StreamState
from read_side.store import ReadStore


class NoGaps:
    """An event source for tests whose events come in stream order: nothing to repair."""

    async def stream(
        self, stream_id: str, *, after_version: int, up_to_version: int | None = None
    ) -> list[PublishedEvent]:
        return []

    async def read_all(self, after_position: int, limit: int) -> tuple[list[PublishedEvent], int]:
        return [], after_position

    async def head(self) -> int:
        return 0


async def applier_of(name: str, store: ReadStore) -> Applier:
    applier = Applier(PROJECTORS[name](0), store, NoGaps(), NoCache())
    await applier.setup()
    return applier


async def committed(applier: Applier, *events: PublishedEvent) -> None:
    """One batch, applied and committed with the checkpoint."""
    session = applier.session()
    await applier.apply_all(session, events, on_failure=None)
    position, revision = await applier.tracking.checkpoint(applier.store)
    await applier.commit(session, max([position, *(e.position for e in events)]), revision)


async def crashed(applier: Applier, *events: PublishedEvent) -> None:
    """One batch, applied by a process that died before its commit."""
    await applier.apply_all(applier.session(), events, on_failure=None)


async def skip_to(applier: Applier, position: int) -> None:
    """Moves the checkpoint to ``position`` without applying anything: for a test that
    cares only about what comes next."""
    _, revision = await applier.tracking.checkpoint(applier.store)
    await applier.commit(applier.session(), position, revision)


async def stream_state(applier: Applier, stream_id: str) -> StreamState:
    return await applier.tracking.state(applier.session(), stream_id)

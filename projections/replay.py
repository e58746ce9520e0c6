"""Replays the event store through a projector, without the broker.

Used when a projector starts (from its checkpoint), to catch a new generation up, and
by rebuilds. Each batch is committed with the checkpoint it reached, so a replay that
stops goes on from there; applying is idempotent, so replaying over what the live
projector already applied changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from projections.applier import Applier, OnFailure

Progress = Callable[[int, int], None]
"""Called with (position reached, events applied so far)."""


async def replay(
    applier: Applier,
    *,
    until: int | None = None,
    batch_size: int = 1000,
    progress: Progress | None = None,
    on_failure: OnFailure | None = None,
) -> int:
    """Applies every event after the generation's checkpoint (up to ``until``); returns
    the position reached. Without ``on_failure``, an event that fails stops the replay.
    Raises Conflict if another writer moves the checkpoint meanwhile."""
    position, revision = await applier.tracking.checkpoint(applier.store)
    applied = 0
    while until is None or position < until:
        events, next_position = await applier.source.read_all(position, batch_size)
        if next_position == position:
            break
        if until is not None:
            events = [event for event in events if event.position <= until]
            next_position = min(next_position, until)
        session = applier.session()
        await applier.apply_all(session, events, on_failure)
        applied += len(events)
        position = next_position
        revision = await applier.commit(session, position, revision)
        if progress is not None:
            progress(position, applied)
    return position

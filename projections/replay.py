"""Replays the event store through a projector, without the broker.

Used to fill the in-process read store on start, and by rebuilds. Because
applying is idempotent, replaying over what the live projector already
applied changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from projections.applier import Applier

Progress = Callable[[int, int], None]
"""Called with (position reached, events applied so far)."""


async def replay(
    applier: Applier,
    *,
    after: int = 0,
    until: int | None = None,
    batch_size: int = 1000,
    progress: Progress | None = None,
) -> int:
    """Applies every event after ``after`` (up to ``until``); returns the position reached."""
    position, applied = after, 0
    while until is None or position < until:
        events, next_position = await applier.source.read_all(position, batch_size)
        if next_position == position:
            break
        for event in events:
            if until is not None and event.position > until:
                break
            await applier.apply(event)
            applied += 1
        await applier.projector.flush(applier.store)
        position = next_position if until is None else min(next_position, until)
        await applier.tracking.save_checkpoint(position)
        if progress is not None:
            progress(position, applied)
    return position

"""Replays the event store through a projector, without the broker.

Used to fill the in-process read store on start, and by rebuilds. Because
applying is idempotent, replaying over what the live projector already
applied changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from projections.applier import Applier, ApplyFailed

Progress = Callable[[int, int], None]
"""Called with (position reached, events applied so far)."""

OnFailure = Callable[[ApplyFailed], Awaitable[None]]
"""Deals with an event the projector cannot apply (the runner dead-letters it)."""


async def replay(
    applier: Applier,
    *,
    after: int = 0,
    until: int | None = None,
    batch_size: int = 1000,
    progress: Progress | None = None,
    on_failure: OnFailure | None = None,
) -> int:
    """Applies every event after ``after`` (up to ``until``); returns the position reached.

    Without ``on_failure``, an event the projector cannot apply stops the replay.
    """
    position, applied = after, 0
    while until is None or position < until:
        events, next_position = await applier.source.read_all(position, batch_size)
        if next_position == position:
            break
        async with applier.tracking.batch():
            for event in events:
                if until is not None and event.position > until:
                    break
                try:
                    await applier.apply(event)
                except ApplyFailed as failure:
                    if on_failure is None:
                        raise
                    await on_failure(failure)
                applied += 1
            await applier.projector.flush(applier.store)
        position = next_position if until is None else min(next_position, until)
        await applier.tracking.save_checkpoint(position)
        if progress is not None:
            progress(position, applied)
    return position

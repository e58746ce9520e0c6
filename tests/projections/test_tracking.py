"""Per-stream progress: held in memory for a batch, written once when it ends well."""

from __future__ import annotations

import pytest

from projections.tracking import StreamState, Tracking
from read_side.memory import MemoryReadStore


@pytest.fixture
def tracking() -> Tracking:
    return Tracking(MemoryReadStore("tracking"), "p")


async def stored(tracking: Tracking, stream_id: str) -> int | None:
    doc = await tracking.streams.find_one({"_id": stream_id})
    return None if doc is None else doc["version"]


async def test_a_batch_writes_each_streams_progress_once_when_it_ends(tracking: Tracking) -> None:
    await tracking.advance("s", 1)  # outside a batch: written at once
    assert await stored(tracking, "s") == 1

    async with tracking.batch():
        for version in (2, 3, 4):
            await tracking.advance("s", version)
        await tracking.advance("t", 1)
        assert await tracking.state("s") == StreamState(version=4)
        assert await stored(tracking, "s") == 1, "held until the batch ends"
        assert await stored(tracking, "t") is None

    assert await stored(tracking, "s") == 4
    assert await stored(tracking, "t") == 1


async def test_a_batch_that_fails_writes_nothing_it_held(tracking: Tracking) -> None:
    await tracking.advance("s", 1)

    async def failing_batch() -> None:
        async with tracking.batch():
            await tracking.advance("s", 2)
            raise RuntimeError("the read store went away")

    with pytest.raises(RuntimeError):
        await failing_batch()

    assert await stored(tracking, "s") == 1
    assert await tracking.state("s") == StreamState(version=1), "the store says, again"


async def test_blocking_inside_a_batch_is_written_at_once_and_seen(tracking: Tracking) -> None:
    async with tracking.batch():
        await tracking.advance("s", 1)
        await tracking.block("s", 2)
        assert await tracking.state("s") == StreamState(version=1, blocked_at=2)
        assert await tracking.blocked_count() == 1
        await tracking.unblock("s")
        assert await tracking.state("s") == StreamState(version=1)

    assert await tracking.state("s") == StreamState(version=1)


async def test_batches_do_not_nest(tracking: Tracking) -> None:
    """An inner batch would end by dropping what the outer one holds."""

    async def nested() -> None:
        async with tracking.batch(), tracking.batch():
            pass

    with pytest.raises(AssertionError):
        await nested()

"""Read positions in a query process of its own: from the store, shared by every query."""

from __future__ import annotations

import asyncio

from read_side.positions import StoreCheckpoints
from read_side.postgres import PostgresReadStore
from tests.support.faults import FaultyStore


async def test_many_waiting_queries_share_one_read_per_poll(
    read_store: PostgresReadStore,
) -> None:
    faulty = FaultyStore(read_store, delay=0)
    checkpoints = StoreCheckpoints(faulty, poll_seconds=0.05)

    reached = await asyncio.gather(*(checkpoints.wait("users", 1, within=0.3) for _ in range(50)))

    assert reached == [0] * 50, "nothing was ever applied"
    polls = 0.3 / 0.05 + 2
    assert faulty.calls <= 2 * polls, "a generation and a checkpoint read per poll, not per query"

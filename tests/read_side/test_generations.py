"""How queries resolve a projection's current generation: once per TTL, shared, and never
behind what an in-process projector announced or a checkpoint they waited for."""

from __future__ import annotations

import asyncio

import pytest

from read_side.generations import CurrentGenerations, Generations, at, checkpoint_table
from read_side.positions import StoreCheckpoints
from read_side.postgres import PostgresReadStore
from read_side.store import REV, Changes, StoreUnavailable
from tests.support.clock import Clock
from tests.support.faults import FaultyStore


@pytest.fixture
def store(read_store: PostgresReadStore) -> FaultyStore:
    return FaultyStore(read_store, delay=0)


async def test_the_store_is_read_once_per_ttl(store: FaultyStore) -> None:
    clock = Clock()
    current = CurrentGenerations(store, ttl=0.25, clock=clock)
    await Generations(store).switch("users", 0, 1)
    store.calls = 0

    assert [await current.current("users") for _ in range(10)] == [1] * 10
    assert store.calls == 1

    await Generations(store).switch("users", 1, 2)
    store.calls = 0
    assert await current.current("users") == 1, "within the TTL the last read stands"
    clock.now += 0.25
    assert await current.current("users") == 2
    assert store.calls == 1


async def test_concurrent_callers_share_one_read(store: FaultyStore) -> None:
    current = CurrentGenerations(store)
    store.calls = 0

    seen = await asyncio.gather(*(current.current("tasks") for _ in range(20)))

    assert seen == [0] * 20
    assert store.calls == 1


async def test_a_failed_read_reaches_every_caller_and_the_next_call_reads_again(
    store: FaultyStore,
) -> None:
    current = CurrentGenerations(store)
    store.fail_next(1)

    failed = await asyncio.gather(
        *(current.current("users") for _ in range(3)), return_exceptions=True
    )

    assert all(isinstance(error, StoreUnavailable) for error in failed)
    assert await current.current("users") == 0


async def test_a_generation_announced_in_process_wins_over_a_stale_read(
    store: FaultyStore,
) -> None:
    announced: dict[str, int] = {}
    current = CurrentGenerations(store, ttl=60, announced=announced.get)
    assert await current.current("users") == 0

    await Generations(store).switch("users", 0, 1)
    announced["users"] = 1  # the in-process projector switched, then announced

    assert await current.current("users") == 1


async def test_waiting_for_a_position_past_a_switch_ends_on_the_new_generation(
    store: FaultyStore,
) -> None:
    """The old generation's checkpoint stops at the switch; a query that waits for a
    later position can only get it once it resolves the new generation, so the document
    it then reads is never older than the position it waited for."""
    checkpoint = checkpoint_table("users")
    for generation, position in ((0, 10), (1, 20)):
        await store.create([at(checkpoint, generation)])
        await store.commit(
            Changes(puts={at(checkpoint, generation): {"users": {"position": position, REV: 1}}})
        )
    current = CurrentGenerations(store, ttl=0.05)
    checkpoints = StoreCheckpoints(store, poll_seconds=0.01, generations=current)
    assert await checkpoints.position("users") == 10

    await Generations(store).switch("users", 0, 1)
    reached = await checkpoints.wait("users", 15, within=5)

    assert reached == 20
    assert await current.current("users") == 1


async def test_two_switches_from_one_generation_cannot_both_win(store: FaultyStore) -> None:
    generations = Generations(store)
    await generations.propose("users", 1)

    won = await asyncio.gather(*(generations.switch("users", 0, n) for n in (1, 2)))

    assert sorted(won) == [False, True]
    state = await generations.state("users")
    assert (state.current, state.next) == ((1 if won[0] else 2), None)

"""The breaker-guarded read store: refuses fast while open, and counts only outages."""

from __future__ import annotations

import pytest

from read_side.breaker import BreakerState
from read_side.guarded_store import GuardedReadStore, store_breaker
from read_side.postgres import PostgresReadStore
from read_side.store import REV, Changes, Conflict, Criteria, StoreUnavailable, Table
from tests.support.faults import FaultyStore

USERS = Table("users")


@pytest.fixture
async def faulty(read_store: PostgresReadStore) -> FaultyStore:
    await read_store.create([USERS])
    return FaultyStore(read_store, delay=0)


async def test_after_five_outages_calls_are_refused_without_reaching_the_store(
    faulty: FaultyStore,
) -> None:
    guarded = GuardedReadStore(faulty, store_breaker(5, 30))
    faulty.fail_next(5)
    for _ in range(5):
        with pytest.raises(StoreUnavailable, match="injected"):
            await guarded.get(USERS, "u1")

    with pytest.raises(StoreUnavailable, match="circuit is open"):
        await guarded.count(USERS, Criteria())
    with pytest.raises(StoreUnavailable, match="circuit is open"):
        await guarded.ping()

    assert faulty.calls == 5
    assert guarded.breaker.state is BreakerState.OPEN


async def test_a_conflict_is_an_answer_not_an_outage(faulty: FaultyStore) -> None:
    guarded = GuardedReadStore(faulty, store_breaker(1, 30))
    first = Changes(puts={USERS: {"a": {REV: 1}}}, expect={(USERS, "a"): 0})
    await guarded.commit(first)

    with pytest.raises(Conflict):
        await guarded.commit(first)

    assert guarded.breaker.state is BreakerState.CLOSED
    assert await guarded.get(USERS, "a") == {REV: 1}

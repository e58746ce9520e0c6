"""The breaker-guarded read store: refuses fast while open, and counts only outages."""

from __future__ import annotations

import pytest

from read_side.breaker import BreakerState
from read_side.guarded_store import GuardedReadStore, store_breaker
from read_side.memory import MemoryReadStore
from read_side.store import DuplicateKey, StoreUnavailable
from tests.support.faults import FaultyStore


@pytest.fixture
def faulty() -> FaultyStore:
    return FaultyStore(MemoryReadStore("guarded"), delay=0)


async def test_after_five_outages_calls_are_refused_without_reaching_the_store(
    faulty: FaultyStore,
) -> None:
    guarded = GuardedReadStore(faulty, store_breaker(5, 30))
    users = guarded.collection("users")
    faulty.fail_next(5)
    for _ in range(5):
        with pytest.raises(StoreUnavailable, match="injected"):
            await users.find_one({"_id": "u1"})

    with pytest.raises(StoreUnavailable, match="circuit is open"):
        await users.count({})
    with pytest.raises(StoreUnavailable, match="circuit is open"):
        await guarded.ping()

    assert faulty.calls == 5
    assert guarded.breaker.state is BreakerState.OPEN


async def test_a_duplicate_key_is_an_answer_not_an_outage(faulty: FaultyStore) -> None:
    guarded = GuardedReadStore(faulty, store_breaker(1, 30))
    users = guarded.collection("users")
    await users.create_index([("email", 1)], unique=True)
    await users.insert_one({"_id": "a", "email": "x"})

    with pytest.raises(DuplicateKey):
        await users.insert_one({"_id": "b", "email": "x"})

    assert guarded.breaker.state is BreakerState.CLOSED
    assert await users.find({}, projection={"_id": 1}) == [{"_id": "a"}]

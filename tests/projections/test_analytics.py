"""Activity summaries are incremented per batch, yet count every event exactly once:
across redelivery, a crash between a batch's inserts and its flush, and a store that
fails midway through a flush."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from events.published import PublishedEvent
from projections.analytics import EVENTS, SUMMARIES, AnalyticsProjector
from read_side.memory import MemoryReadStore
from read_side.store import StoreUnavailable

USER = str(uuid.uuid4())
START = datetime(2026, 11, 20, 12, tzinfo=UTC)


def activity(position: int, name: str, user: str = USER) -> PublishedEvent:
    return PublishedEvent(
        event_id=str(uuid.uuid4()),
        type="activity.tracked",
        schema_version=1,
        stream_id=str(uuid.uuid4()),
        stream_version=1,
        position=position,
        occurred_at=START + timedelta(hours=position),
        correlation_id=None,
        causation_id=None,
        actor=user,
        data={"event_type": "ui", "event_name": name, "user_id": user},
    )


BATCH = [activity(1, "click"), activity(2, "click"), activity(30, "view")]


async def applied(projector: AnalyticsProjector, store: object, *events: PublishedEvent) -> None:
    for event in events:
        await projector.apply(event, store)  # type: ignore[arg-type]


async def summary(store: MemoryReadStore, user: str = USER) -> dict[str, object]:
    doc = await store.collection(SUMMARIES).find_one({"_id": user})
    assert doc is not None
    return doc


EXPECTED = {
    "total_events": 3,
    "last_activity": "2026-11-21T18:00:00.000000Z",
    "top_events": [{"event_name": "click", "count": 2}, {"event_name": "view", "count": 1}],
    "by_type": {"ui": 3},
    "by_day": {"2026-11-20": 2, "2026-11-21": 1},
}


def public(doc: dict[str, object]) -> dict[str, object]:
    return {k: doc[k] for k in EXPECTED}


@pytest.fixture
async def store() -> MemoryReadStore:
    store = MemoryReadStore(f"analytics_{uuid.uuid4().hex[:8]}")
    await AnalyticsProjector().setup(store)
    return store


async def test_batches_add_up_to_what_a_recount_gives(store: MemoryReadStore) -> None:
    projector = AnalyticsProjector()
    await applied(projector, store, *BATCH[:2])
    await projector.flush(store)
    await applied(projector, store, BATCH[2])
    await projector.flush(store)

    assert public(await summary(store)) == EXPECTED
    assert (await summary(store))["_stale"] is False


async def test_a_redelivered_batch_counts_nothing_twice(store: MemoryReadStore) -> None:
    projector = AnalyticsProjector()
    await applied(projector, store, *BATCH)
    await projector.flush(store)

    await applied(projector, store, *BATCH)
    await projector.flush(store)

    assert public(await summary(store)) == EXPECTED


async def test_a_crash_before_the_flush_is_recounted_by_the_next_process(
    store: MemoryReadStore,
) -> None:
    await applied(AnalyticsProjector(), store, *BATCH)  # inserted, never flushed
    assert await store.collection(EVENTS).count({"user_id": USER}) == 3
    assert "user_id" not in await summary(store), "invisible to queries until counted"

    restarted = AnalyticsProjector()
    await restarted.setup(store)
    await applied(restarted, store, *BATCH)  # the unacknowledged batch comes again
    await restarted.flush(store)

    assert public(await summary(store)) == EXPECTED


class SecondFlushWriteFails:
    """The read store, except that the second summary a flush writes raises."""

    def __init__(self, inner: MemoryReadStore) -> None:
        self.inner = inner
        self.flushed = 0

    def collection(self, name: str) -> Any:
        collection = self.inner.collection(name)
        return _Failing(collection, self) if name == SUMMARIES else collection

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _Failing:
    def __init__(self, inner: Any, store: SecondFlushWriteFails) -> None:
        self.inner, self.store = inner, store

    async def update_one(self, filter: Any, update: Any, *, upsert: bool = False) -> Any:
        if update["$set"].get("_stale") is False:  # a flush's write, not a mark
            self.store.flushed += 1
            if self.store.flushed == 2:
                raise StoreUnavailable("injected")
        return await self.inner.update_one(filter, update, upsert=upsert)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_flush_the_store_breaks_midway_is_completed_by_the_batch_again(
    store: MemoryReadStore,
) -> None:
    failing, other = SecondFlushWriteFails(store), str(uuid.uuid4())
    batch = [*BATCH, activity(4, "click", other)]
    projector = AnalyticsProjector()
    await applied(projector, failing, *batch)
    with pytest.raises(StoreUnavailable):
        await projector.flush(failing)

    await applied(projector, failing, *batch)  # not acknowledged, so delivered again
    await projector.flush(failing)

    assert public(await summary(store)) == EXPECTED
    assert (await summary(store, other))["total_events"] == 1


async def test_an_event_type_holding_nul_stored_before_the_api_refused_it_is_counted(
    store: MemoryReadStore,
) -> None:
    """No field name may hold NUL: the projector stopped on one, now it counts it as U+FFFD."""
    odd = activity(1, "click")
    odd = dataclasses.replace(odd, data={**odd.data, "event_type": "u\x00i"})
    projector = AnalyticsProjector()
    await applied(projector, store, odd)
    await projector.flush(store)

    assert (await summary(store))["by_type"] == {"u\ufffdi": 1}

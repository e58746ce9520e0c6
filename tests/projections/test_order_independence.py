"""Any delivery order, with duplicates, builds the same read models as in-order delivery."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.catalog import default_registry
from events.codec import EventCodec
from events.published import PublishedEvent
from projections.applier import Applier
from projections.catalog import NAMES, projector_factory
from projections.ports import NoCache
from read_side.memory import MemoryReadStore
from tests.projections.history import make_history, published_since
from write_side.bootstrap import WriteSide
from write_side.event_log import PublishedLog


@pytest.fixture(scope="module")
def history(write_side: WriteSide) -> list[PublishedEvent]:
    start = write_side.store.head()
    make_history(write_side)
    return asyncio.run(published_since(write_side, start))


def project(ws: WriteSide, deliveries: list[PublishedEvent]) -> dict[str, list[dict[str, Any]]]:
    """Every collection of every projector after the deliveries, without the cache ``_rev``."""

    async def run() -> dict[str, list[dict[str, Any]]]:
        store = MemoryReadStore("order")
        source = PublishedLog(ws.store, EventCodec(default_registry()))
        appliers = [Applier(projector_factory(n, NoCache())(0), store, source) for n in NAMES]
        for event in deliveries:
            for applier in appliers:
                await applier.apply(event)
        for applier in appliers:
            await applier.projector.flush(store)
        names = sorted(await store.collection_names())
        state = {}
        for name in names:
            docs = await store.collection(name).find({}, sort=[("_id", 1)])
            state[name] = [{k: v for k, v in d.items() if k != "_rev"} for d in docs]
        return state

    return asyncio.run(run())


def test_in_order_delivery_builds_every_read_model(
    write_side: WriteSide, history: list[PublishedEvent]
) -> None:
    state = project(write_side, history)

    assert len(state["audit"]) == len(history)
    assert len(state["users"]) == 1  # the second user was deleted
    assert {t["status"] for t in state["tasks"]} == {"done", "todo"}  # the third was deleted
    assert state["users"][0]["task_counts"] == {
        "todo": 1, "in_progress": 0, "done": 1, "cancelled": 0, "total": 2,
    }  # fmt: skip
    assert len(state["activity_summaries"]) == 2  # kept after the user was deleted


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_order_with_duplicates_builds_the_same_read_models(
    write_side: WriteSide, history: list[PublishedEvent], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(history), label="order")
    repeats = data.draw(st.lists(st.sampled_from(history), max_size=len(history)), label="again")
    at = data.draw(
        st.lists(st.integers(0, len(shuffled)), min_size=len(repeats), max_size=len(repeats))
    )
    deliveries = list(shuffled)
    for index, event in sorted(zip(at, repeats, strict=True), key=lambda pair: -pair[0]):
        deliveries.insert(index, event)

    assert project(write_side, deliveries) == project(write_side, history)

"""Any delivery order, in any batches, with duplicates and redelivered batches, builds the
same read models as a fresh rebuild."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.published import PublishedEvent
from projections.catalog import NAMES, applier_factory
from projections.ports import NoCache
from tests.projections.history import make_history, published_since
from tests.projections.snapshots import Snapshot, snapshot, source_of
from tests.support.stores import fresh_store
from write_side.bootstrap import WriteSide

Delivery = tuple[list[PublishedEvent], bool]
"""A batch of messages, and whether its process crashed before committing it."""


@pytest.fixture(scope="module")
def history(write_side: WriteSide) -> list[PublishedEvent]:
    start = write_side.store.head()
    make_history(write_side)
    return asyncio.run(published_since(write_side, start))


@pytest.fixture(scope="module")
def rebuilt(write_side: WriteSide, history: list[PublishedEvent]) -> dict[str, Snapshot]:
    """The history replayed in order, in batches of 1,000, as a rebuild reads it (the
    session's database holds other tests' events too, so not ``fresh``)."""
    return project(
        write_side, [(history[i : i + 1000], False) for i in range(0, len(history), 1000)]
    )


def project(ws: WriteSide, deliveries: list[Delivery]) -> dict[str, Snapshot]:
    """Every projector's tables after the batches were delivered (a crashed one is applied,
    then dropped uncommitted, as a process that dies before its commit leaves it)."""

    async def run() -> dict[str, Snapshot]:
        async with fresh_store(ws.settings.postgres_dsn, "order") as store:
            appliers = [applier_factory(n, store, source_of(ws), NoCache())(0) for n in NAMES]
            for applier in appliers:
                await applier.setup()
            for applier in appliers:
                position = revision = 0
                for events, crashed in deliveries:
                    session = applier.session()
                    await applier.apply_all(session, events, on_failure=None)
                    if crashed:
                        continue  # nothing committed, nothing acknowledged
                    position = max([position, *(e.position for e in events)])
                    revision = await applier.commit(session, position, revision)
            return {name: await snapshot(store, ws, name, 0) for name in NAMES}

    return asyncio.run(run())


def test_in_order_delivery_builds_every_read_model(
    write_side: WriteSide, history: list[PublishedEvent]
) -> None:
    state = project(write_side, [(history, False)])

    assert len(state["audit"]["audit"]) == len(history)
    users = state["users"]["users"]
    assert len(users) == 1  # the second user was deleted
    assert {t["status"] for _, t in state["tasks"]["tasks"]} == {"done", "todo"}
    assert users[0][1]["task_counts"] == {
        "todo": 1, "in_progress": 0, "done": 1, "cancelled": 0, "total": 2,
    }  # fmt: skip
    assert len(state["analytics"]["activity_summaries"]) == 2  # kept after the user went


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_batches_orders_and_redeliveries_build_what_a_rebuild_builds(
    write_side: WriteSide,
    history: list[PublishedEvent],
    rebuilt: dict[str, Snapshot],
    data: st.DataObject,
) -> None:
    shuffled = data.draw(st.permutations(history), label="order")
    repeats = data.draw(st.lists(st.sampled_from(history), max_size=len(history)), label="again")
    at = data.draw(
        st.lists(st.integers(0, len(shuffled)), min_size=len(repeats), max_size=len(repeats))
    )
    messages = list(shuffled)
    for index, event in sorted(zip(at, repeats, strict=True), key=lambda pair: -pair[0]):
        messages.insert(index, event)
    deliveries: list[Delivery] = []
    while messages:
        size = data.draw(st.integers(1, 8), label="batch size")
        batch, messages = messages[:size], messages[size:]
        if data.draw(st.booleans(), label="crash before commit"):
            deliveries.append((batch, True))  # then redelivered whole
        deliveries.append((batch, False))
        if data.draw(st.booleans(), label="redelivered after commit"):
            deliveries.append((batch, False))  # the ack was lost

    assert project(write_side, deliveries) == rebuilt

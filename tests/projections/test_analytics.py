"""Activity summaries count every event exactly once, in whatever batches it comes:
across redelivery and a crash before a commit; an event no store can hold fails alone."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from events.published import PublishedEvent
from projections.applier import Applier, ApplyFailed
from read_side.postgres import PostgresReadStore
from read_side.store import Criteria
from read_side.tables import ANALYTICS_EVENTS, SUMMARIES
from tests.projections.batches import applier_of, committed, crashed

USER = str(uuid.uuid4())
START = datetime(2026, 11, 20, 12, tzinfo=UTC)


def activity(position: int, name: str, user: str = USER) -> PublishedEvent:
    return PublishedEvent(
        event_id=str(uuid.uuid4()), type="activity.tracked", schema_version=1,
        stream_id=str(uuid.uuid4()), stream_version=1, position=position,
        occurred_at=START + timedelta(hours=position), correlation_id=None, causation_id=None,
        actor=user, data={"event_type": "ui", "event_name": name, "user_id": user},
    )  # fmt: skip


BATCH = [activity(1, "click"), activity(2, "click"), activity(30, "view")]
EXPECTED = {
    "user_id": USER,
    "total_events": 3,
    "last_activity": "2026-11-21T18:00:00.000000Z",
    "top_events": [{"event_name": "click", "count": 2}, {"event_name": "view", "count": 1}],
    "by_type": {"ui": 3},
    "by_day": {"2026-11-20": 2, "2026-11-21": 1},
}


async def summary(applier: Applier, user: str = USER) -> dict[str, object]:
    doc = await applier.store.get(SUMMARIES, user)
    assert doc is not None
    return {k: doc[k] for k in EXPECTED}


async def test_batches_add_up(read_store: PostgresReadStore) -> None:
    analytics = await applier_of("analytics", read_store)
    await committed(analytics, *BATCH[:2])
    await committed(analytics, BATCH[2])

    assert await summary(analytics) == EXPECTED


async def test_redelivered_and_crashed_batches_count_nothing_twice(
    read_store: PostgresReadStore,
) -> None:
    analytics = await applier_of("analytics", read_store)
    await crashed(analytics, *BATCH)
    assert await read_store.count(ANALYTICS_EVENTS, Criteria({"user_id": USER})) == 0
    await committed(analytics, *BATCH)
    await committed(analytics, BATCH[1], *BATCH)

    assert await summary(analytics) == EXPECTED


async def test_an_event_holding_nul_fails_alone(read_store: PostgresReadStore) -> None:
    """Stored before the API refused NUL: no store can hold it, so it is that event's
    failure (it is dead-lettered), not its batch's commit's."""
    odd = activity(3, "click")
    odd = dataclasses.replace(odd, data={**odd.data, "event_type": "u\x00i"})
    analytics = await applier_of("analytics", read_store)
    session = analytics.session()
    failed: list[ApplyFailed] = []

    async def note(failure: ApplyFailed, _: object) -> None:
        failed.append(failure)

    await analytics.apply_all(session, [*BATCH[:2], odd, BATCH[2]], on_failure=note)
    await analytics.commit(session, 30, 0)

    assert [f.event for f in failed] == [odd]
    assert await summary(analytics) == EXPECTED
    with pytest.raises(ApplyFailed):
        await analytics.apply(analytics.session(), odd)

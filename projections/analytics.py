"""Analytics: every published event as an analytics document, and per-user summaries.

Event documents are keyed by event id, so re-applying one changes nothing.
Summaries are recomputed from a user's event documents once per batch instead
of being incremented, so they can never double count; the cost is a scan of
that user's events per batch in which the user was active.
"""

from __future__ import annotations

from collections import Counter

from events.published import PublishedEvent
from projections.projector import utc_text
from read_side.store import ReadStore

EVENTS = "analytics_events"
SUMMARIES = "activity_summaries"
TASK_OWNERS = "analytics__task_owners"
TOP_EVENTS = 10


class AnalyticsProjector:
    name = "analytics"
    collections = (EVENTS, SUMMARIES, TASK_OWNERS)

    def __init__(self) -> None:
        self._touched: set[str] = set()

    def handles(self, event: PublishedEvent) -> bool:
        return True

    def tracks(self, event: PublishedEvent) -> bool:
        """Task events need their stream's TaskCreated first, to know the owner."""
        return event.aggregate == "task"

    async def setup(self, store: ReadStore) -> None:
        await store.collection(EVENTS).create_index([("user_id", 1), ("timestamp", -1)])

    async def apply(self, event: PublishedEvent, store: ReadStore) -> None:
        user_id = await self._owner(event, store)
        if event.aggregate == "activity":
            data = event.data
            doc = {
                "event_type": data["event_type"],
                "event_name": data["event_name"],
                "category": data.get("category"),
                "properties": data.get("properties") or {},
                "source_service": data.get("source_service"),
            }
        else:
            doc = {
                "event_type": "domain",
                "event_name": event.type,
                "category": event.aggregate,
                "properties": event.data,
                "source_service": "tasktrail",
            }
        timestamp = utc_text(event.occurred_at)
        await store.collection(EVENTS).insert_one(
            {
                "_id": event.event_id,
                # A tracked activity is known by its own id (what POST answered); a
                # domain event by its event id.
                "id": event.stream_id if event.aggregate == "activity" else event.event_id,
                **doc,
                "user_id": user_id,
                "timestamp": timestamp,
                "_day": timestamp[:10],
                "_position": event.position,
            }
        )
        if user_id is not None:
            self._touched.add(user_id)

    async def _owner(self, event: PublishedEvent, store: ReadStore) -> str | None:
        match event.aggregate:
            case "user":
                return event.stream_id
            case "activity":
                owner: str | None = event.data.get("user_id")
                return owner
        owners = store.collection(TASK_OWNERS)
        if event.type == "task.created":
            await owners.insert_one({"_id": event.stream_id, "user_id": event.data["user_id"]})
            return str(event.data["user_id"])
        found = await owners.find_one({"_id": event.stream_id})
        return found["user_id"] if found else None

    async def flush(self, store: ReadStore) -> None:
        touched, self._touched = self._touched, set()
        for user_id in touched:
            await store.collection(SUMMARIES).update_one(
                {"_id": user_id}, {"$set": await _summary(store, user_id)}, upsert=True
            )


async def _summary(store: ReadStore, user_id: str) -> dict[str, object]:
    rows = await store.collection(EVENTS).find(
        {"user_id": user_id},
        projection={"event_name": 1, "event_type": 1, "_day": 1, "timestamp": 1},
    )
    names = Counter(row["event_name"] for row in rows)
    return {
        "user_id": user_id,
        "total_events": len(rows),
        "last_activity": max((row["timestamp"] for row in rows), default=None),
        "top_events": [
            {"event_name": n, "count": c}
            for n, c in sorted(names.items(), key=lambda item: (-item[1], item[0]))[:TOP_EVENTS]
        ],
        "by_type": dict(Counter(row["event_type"] for row in rows)),
        "by_day": dict(sorted(Counter(row["_day"] for row in rows).items())),
    }

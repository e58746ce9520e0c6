"""Analytics: every published event as an analytics document, and per-user summaries.

Event documents are keyed by event id, so re-applying one changes nothing.
Summaries are incremented once per batch by what the batch inserted, so a busy
user's summary costs the same on their ten-thousandth event as on their first.
(Recomputing it from all their events each batch made B5's projection lag grow
with time: py-spy put the scan at 30% of the query process.)

Exactly once, across crashes: before a batch inserts a user's first event, it
marks their summary stale; the batch's flush adds the counts of the events that
were really inserted (a redelivered duplicate inserts nothing) and clears the
mark in the same write. A crash between the two leaves the mark, and ``setup``
recounts every marked summary from the event documents.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

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
        self._counts: dict[str, _Counts] = {}
        """Per user, what this batch inserted and its flush has yet to add."""

    def handles(self, event: PublishedEvent) -> bool:
        return True

    def tracks(self, event: PublishedEvent) -> bool:
        """Task events need their stream's TaskCreated first, to know the owner."""
        return event.aggregate == "task"

    async def setup(self, store: ReadStore) -> None:
        await store.collection(EVENTS).create_index([("user_id", 1), ("timestamp", -1)])
        summaries = store.collection(SUMMARIES)
        await summaries.create_index([("_stale", 1)])
        for stale in await summaries.find({"_stale": True}, projection={"_id": 1}):
            user_id = stale["_id"]
            counts = await _recount(store, user_id)
            await summaries.update_one({"_id": user_id}, {"$set": counts.summary(user_id)})

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
        if user_id is not None and user_id not in self._counts:
            # Marked before anything is inserted; a new summary stays invisible (no
            # user_id) until its first flush.
            await store.collection(SUMMARIES).update_one(
                {"_id": user_id}, {"$set": {"_stale": True}}, upsert=True
            )
            self._counts[user_id] = _Counts()
        document = {
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
        if await store.collection(EVENTS).insert_one(document) and user_id is not None:
            self._counts[user_id].add(document)

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
        """A user's counts are forgotten only once written: if the store fails midway,
        the batch comes again and its duplicates insert (and count) nothing, so what
        was not yet written must still be here to add."""
        summaries = store.collection(SUMMARIES)
        for user_id in list(self._counts):
            current = await summaries.find_one({"_id": user_id}) or {}
            merged = _Counts.of(current).plus(self._counts[user_id])
            await summaries.update_one({"_id": user_id}, {"$set": merged.summary(user_id)})
            del self._counts[user_id]


@dataclass
class _Counts:
    """A user's activity counted by name, type and day; a summary's source of truth."""

    total: int = 0
    last_activity: str | None = None
    names: Counter[str] = field(default_factory=Counter)
    types: Counter[str] = field(default_factory=Counter)
    days: Counter[str] = field(default_factory=Counter)

    def add(self, event: dict[str, Any]) -> None:
        self.total += 1
        if self.last_activity is None or event["timestamp"] > self.last_activity:
            self.last_activity = event["timestamp"]
        self.names[event["event_name"]] += 1
        self.types[_field_name(event["event_type"])] += 1
        self.days[event["_day"]] += 1

    def plus(self, other: _Counts) -> _Counts:
        last = max(filter(None, (self.last_activity, other.last_activity)), default=None)
        return _Counts(
            self.total + other.total,
            last,
            self.names + other.names,
            self.types + other.types,
            self.days + other.days,
        )

    @classmethod
    def of(cls, summary: dict[str, Any]) -> _Counts:
        """Back from a stored summary (empty for one only marked stale so far)."""
        return cls(
            summary.get("total_events", 0),
            summary.get("last_activity"),
            Counter(dict(summary.get("_names", []))),
            Counter(summary.get("by_type", {})),
            Counter(summary.get("by_day", {})),
        )

    def summary(self, user_id: str) -> dict[str, object]:
        """The stored summary, unmarked. Names are kept as pairs: a name is any string,
        which as a field name could hold a dot or start with a dollar."""
        top = sorted(self.names.items(), key=lambda item: (-item[1], item[0]))
        return {
            "user_id": user_id,
            "total_events": self.total,
            "last_activity": self.last_activity,
            "top_events": [{"event_name": n, "count": c} for n, c in top[:TOP_EVENTS]],
            "by_type": dict(self.types),
            "by_day": dict(sorted(self.days.items())),
            "_names": [[n, c] for n, c in sorted(self.names.items())],
            "_stale": False,
        }


def _field_name(label: str) -> str:
    """A type as a summary's field name: the API refuses NUL in one, but an event stored
    before it did must not stop the projector (no MongoDB field name holds NUL)."""
    return label.replace("\x00", "\ufffd")


async def _recount(store: ReadStore, user_id: str) -> _Counts:
    counts = _Counts()
    for row in await store.collection(EVENTS).find(
        {"user_id": user_id},
        projection={"event_name": 1, "event_type": 1, "_day": 1, "timestamp": 1},
    ):
        counts.add(row)
    return counts

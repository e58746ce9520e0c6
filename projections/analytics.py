"""Analytics: every published event as an analytics document, and per-user summaries.

Event documents are keyed by event id; a summary is added to only when its event's
document is new, and both are written in the same batch commit, so a redelivered
event counts nothing twice, and a busy user's summary costs the same on their
ten-thousandth event as on their first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from events.published import PublishedEvent
from projections.projector import utc_text
from projections.session import Session
from read_side.generations import at
from read_side.store import Table
from read_side.tables import ANALYTICS_EVENTS, SUMMARIES

TASK_OWNERS = Table("analytics__task_owners")
TOP_EVENTS = 10


class AnalyticsProjector:
    name = "analytics"

    def __init__(self, generation: int = 0) -> None:
        self.generation = generation
        self.events = at(ANALYTICS_EVENTS, generation)
        self.summaries = at(SUMMARIES, generation)
        self.owners = at(TASK_OWNERS, generation)
        self.tables = (self.events, self.summaries, self.owners)
        self.cached: dict[Table, str] = {}

    def handles(self, event: PublishedEvent) -> bool:
        return True

    def tracks(self, event: PublishedEvent) -> bool:
        """Task events need their stream's TaskCreated first, to know the owner."""
        return event.aggregate == "task"

    async def prefetch(self, events: Sequence[PublishedEvent], session: Session) -> None:
        await session.prefetch(self.events, {e.event_id for e in events})
        await session.prefetch(self.owners, {e.stream_id for e in events if e.aggregate == "task"})
        owners = {owner for e in events if (owner := await self._owner(e, session, write=False))}
        await session.prefetch(self.summaries, owners)

    async def apply(self, event: PublishedEvent, session: Session) -> None:
        user_id = await self._owner(event, session, write=True)
        if await session.get(self.events, event.event_id) is not None:
            return  # applied already
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
        document = {
            # A tracked activity is known by its own id (what POST answered); a
            # domain event by its event id.
            "id": event.stream_id if event.aggregate == "activity" else event.event_id,
            **doc,
            "user_id": user_id,
            "timestamp": timestamp,
            "_day": timestamp[:10],
            "_position": event.position,
        }
        session.put(self.events, event.event_id, document)
        if user_id is not None:
            counts = _Counts.of(await session.get(self.summaries, user_id) or {})
            counts.add(document)
            session.put(self.summaries, user_id, counts.summary(user_id))

    async def _owner(self, event: PublishedEvent, session: Session, *, write: bool) -> str | None:
        match event.aggregate:
            case "user":
                return event.stream_id
            case "activity":
                owner: str | None = event.data.get("user_id")
                return owner
        if event.type == "task.created":
            owner = str(event.data["user_id"])
            if write:
                session.put(self.owners, event.stream_id, {"user_id": owner})
            return owner
        found = await session.get(self.owners, event.stream_id)
        return None if found is None else str(found["user_id"])


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
        self.types[event["event_type"]] += 1
        self.days[event["_day"]] += 1

    @classmethod
    def of(cls, summary: dict[str, Any]) -> _Counts:
        """Back from a stored summary (empty for none)."""
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
        }

"""The tasks read model: one document per live task."""

from __future__ import annotations

from collections.abc import Sequence

from events.published import PublishedEvent
from events.tasks import TaskStatus
from projections.projector import utc_text
from projections.session import Session
from read_side.generations import at
from read_side.tables import TASKS


class TasksProjector:
    name = "tasks"

    def __init__(self, generation: int = 0) -> None:
        self.generation = generation
        self.table = at(TASKS, generation)
        self.tables = (self.table,)
        self.cached = {self.table: "task"}

    def handles(self, event: PublishedEvent) -> bool:
        return event.aggregate == "task"

    def tracks(self, event: PublishedEvent) -> bool:
        return True

    async def prefetch(self, events: Sequence[PublishedEvent], session: Session) -> None:
        await session.prefetch(self.table, {event.stream_id for event in events})

    async def apply(self, event: PublishedEvent, session: Session) -> None:
        tid, data, version = event.stream_id, event.data, event.stream_version
        current = await session.get(self.table, tid)
        at_ = utc_text(event.occurred_at)
        if event.type == "task.created":
            session.put(
                self.table,
                tid,
                {
                    "id": tid,
                    "user_id": data["user_id"],
                    "title": data["title"],
                    "description": data.get("description"),
                    "status": TaskStatus.TODO.value,
                    "priority": data["priority"],
                    "due_date": data.get("due_date"),
                    "created_at": at_,
                    "updated_at": at_,
                    "version": version,
                },
            )
            return
        if current is None:
            return  # deleted, or its task.created was never applied
        if event.type == "task.deleted":
            session.delete(self.table, tid)
            return
        changes: dict[str, object] = {"version": version, "updated_at": at_}
        match event.type:
            case "task.details_changed":
                changes |= {k: data[k] for k in ("title", "description", "priority", "due_date")}
            case "task.status_changed":
                changes["status"] = data["to_status"]
            case "task.cancelled":
                changes["status"] = TaskStatus.CANCELLED.value
            case "task.reopened":
                changes["status"] = TaskStatus.TODO.value
        session.put(self.table, tid, current | changes)

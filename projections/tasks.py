"""The tasks read model: one document per live task."""

from __future__ import annotations

from events.published import PublishedEvent
from events.tasks import TaskStatus
from projections.documents import create_and_cache, delete_and_cache, update_and_cache
from projections.ports import DocumentCache
from projections.projector import utc_text
from read_side.store import ReadStore

TASKS = "tasks"


class TasksProjector:
    name = "tasks"
    collections = (TASKS,)

    def __init__(self, cache: DocumentCache) -> None:
        self.cache = cache

    def handles(self, event: PublishedEvent) -> bool:
        return event.aggregate == "task"

    def tracks(self, event: PublishedEvent) -> bool:
        return True

    async def setup(self, store: ReadStore) -> None:
        tasks = store.collection(TASKS)
        for field in ("user_id", "status", "priority", "due_date", "created_at"):
            await tasks.create_index([(field, 1)])

    async def flush(self, store: ReadStore) -> None:
        return None

    async def apply(self, event: PublishedEvent, store: ReadStore) -> None:
        tasks, tid, data, version = (
            store.collection(TASKS),
            event.stream_id,
            event.data,
            event.stream_version,
        )
        at = utc_text(event.occurred_at)
        if event.type == "task.created":
            doc = {
                "id": tid,
                "user_id": data["user_id"],
                "title": data["title"],
                "description": data.get("description"),
                "status": TaskStatus.TODO.value,
                "priority": data["priority"],
                "due_date": data.get("due_date"),
                "created_at": at,
                "updated_at": at,
                "version": version,
            }
            await create_and_cache(tasks, self.cache, "task", tid, doc)
            return
        if event.type == "task.deleted":
            await delete_and_cache(tasks, self.cache, "task", tid)
            return
        changes: dict[str, object] = {"version": version, "updated_at": at}
        match event.type:
            case "task.details_changed":
                changes |= {k: data[k] for k in ("title", "description", "priority", "due_date")}
            case "task.status_changed":
                changes["status"] = data["to_status"]
            case "task.cancelled":
                changes["status"] = TaskStatus.CANCELLED.value
            case "task.reopened":
                changes["status"] = TaskStatus.TODO.value
        await update_and_cache(
            tasks, self.cache, "task", tid, {"version": {"$lt": version}}, {"$set": changes}
        )

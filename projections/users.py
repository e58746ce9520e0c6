"""The users read model: one document per live user, with task counts by status.

Counts are recomputed from this projector's own index of tasks (task id ->
owner, status) rather than incremented, so applying an event twice cannot
count it twice. They are recomputed once per batch for each owner whose tasks
changed, not once per event: a rebuild replays thousands of task events per
user.
"""

from __future__ import annotations

from events.published import PublishedEvent
from events.tasks import TaskStatus
from projections.documents import create_and_cache, delete_and_cache, update_and_cache
from projections.ports import DocumentCache
from projections.projector import utc_text
from read_side.store import DuplicateKey, ReadStore

USERS = "users"
TASK_INDEX = "users__tasks"

_STATUS_AFTER = {
    "task.cancelled": TaskStatus.CANCELLED,
    "task.reopened": TaskStatus.TODO,
}


class UsersProjector:
    name = "users"
    collections = (USERS, TASK_INDEX)

    def __init__(self, cache: DocumentCache) -> None:
        self.cache = cache
        self._touched: set[str] = set()

    def handles(self, event: PublishedEvent) -> bool:
        return event.aggregate in ("user", "task")

    def tracks(self, event: PublishedEvent) -> bool:
        return True

    async def setup(self, store: ReadStore) -> None:
        users = store.collection(USERS)
        for field in ("_username", "_email", "status", "created_at"):
            await users.create_index([(field, 1)])
        await store.collection(TASK_INDEX).create_index([("user_id", 1)])

    async def flush(self, store: ReadStore) -> None:
        touched, self._touched = self._touched, set()
        for user_id in sorted(touched):
            await self._recount(store, user_id)

    async def apply(self, event: PublishedEvent, store: ReadStore) -> None:
        if event.aggregate == "user":
            await self._apply_user(event, store)
        else:
            await self._apply_task(event, store)

    async def _apply_user(self, event: PublishedEvent, store: ReadStore) -> None:
        users, uid, data, version = (
            store.collection(USERS),
            event.stream_id,
            event.data,
            event.stream_version,
        )
        at = utc_text(event.occurred_at)
        if event.type == "user.registered":
            doc = {
                "id": uid,
                "email": data["email"],
                "username": data["username"],
                "full_name": data.get("full_name"),
                "bio": data.get("bio"),
                "status": "active",
                "role": "member",
                "created_at": at,
                "updated_at": at,
                "version": version,
                "task_counts": await _counts(store, uid),
                "_email": data["email"].casefold(),
                "_username": data["username"].casefold(),
            }
            await create_and_cache(users, self.cache, "user", uid, doc)
            return
        if event.type == "user.deleted":
            await delete_and_cache(users, self.cache, "user", uid)
            return
        changes: dict[str, object] = {"version": version, "updated_at": at}
        match event.type:
            case "user.profile_changed":
                changes |= {"full_name": data["full_name"], "bio": data["bio"]}
            case "user.email_changed":
                changes |= {"email": data["email"], "_email": data["email"].casefold()}
            case "user.username_changed":
                changes |= {"username": data["username"], "_username": data["username"].casefold()}
            case "user.deactivated":
                changes["status"] = "inactive"
            case "user.reactivated":
                changes["status"] = "active"
            case "user.role_changed":
                changes["role"] = data["role"]
        await update_and_cache(
            users, self.cache, "user", uid, {"version": {"$lt": version}}, {"$set": changes}
        )

    async def _apply_task(self, event: PublishedEvent, store: ReadStore) -> None:
        index, tid, version = store.collection(TASK_INDEX), event.stream_id, event.stream_version
        if event.type == "task.created":
            try:
                await index.update_one(
                    {"_id": tid, "version": {"$lt": version}},
                    {
                        "$set": {
                            "user_id": event.data["user_id"],
                            "status": TaskStatus.TODO,
                            "version": version,
                        }
                    },
                    upsert=True,
                )
            except DuplicateKey:
                return
        elif event.type == "task.deleted":
            await index.update_one({"_id": tid}, {"$set": {"deleted": True, "version": version}})
        elif event.type == "task.status_changed" or event.type in _STATUS_AFTER:
            status = _STATUS_AFTER.get(event.type) or event.data["to_status"]
            await index.update_one(
                {"_id": tid, "version": {"$lt": version}},
                {"$set": {"status": status, "version": version}},
            )
        else:
            return  # details do not change counts
        owner = await index.find_one({"_id": tid}, {"user_id": 1})
        if owner is not None:
            self._touched.add(owner["user_id"])

    async def _recount(self, store: ReadStore, user_id: str) -> None:
        counts = await _counts(store, user_id)
        users = store.collection(USERS)
        await update_and_cache(
            users,
            self.cache,
            "user",
            user_id,
            {"task_counts": {"$ne": counts}},
            {"$set": {"task_counts": counts}},
        )


async def _counts(store: ReadStore, user_id: str) -> dict[str, int]:
    """Counted here from an indexed find, which the in-process store answers from its
    user_id index; its aggregation pipeline would scan every task."""
    counts = dict.fromkeys(TaskStatus, 0)
    rows = await store.collection(TASK_INDEX).find(
        {"user_id": user_id, "deleted": {"$ne": True}}, projection={"status": 1}
    )
    for row in rows:
        counts[TaskStatus(row["status"])] += 1
    return {str(status): n for status, n in counts.items()} | {"total": sum(counts.values())}

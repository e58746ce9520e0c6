"""The users read model: one document per live user, with task counts by status.

The projector keeps its own index of tasks (task id -> owner, status). Its events are
tracked, so each is applied once, in stream order (projections.applier), and a task's
entry and its owner's counts are written in the same batch commit: no event is ever
counted twice or lost. Tasks applied before their owner's registration (it was
dead-lettered, say) are counted aside, per owner, and handed over when it comes.
"""

from __future__ import annotations

from collections.abc import Sequence

from events.published import PublishedEvent
from events.tasks import TaskStatus
from projections.projector import utc_text
from projections.session import Session
from read_side.generations import at
from read_side.store import Table
from read_side.tables import USERS

TASK_INDEX = Table("users__tasks")
PENDING = Table("users__pending")
"""Per owner not (yet) registered here, the counts their tasks have moved so far; per
deleted user, that their tasks count no more."""

_STATUS_AFTER = {
    "task.created": TaskStatus.TODO.value,
    "task.cancelled": TaskStatus.CANCELLED.value,
    "task.reopened": TaskStatus.TODO.value,
}
_COUNTED = ("task.created", "task.deleted", "task.status_changed", *_STATUS_AFTER)


class UsersProjector:
    name = "users"

    def __init__(self, generation: int = 0) -> None:
        self.generation = generation
        self.users = at(USERS, generation)
        self.index = at(TASK_INDEX, generation)
        self.pending = at(PENDING, generation)
        self.tables = (self.users, self.index, self.pending)
        self.cached = {self.users: "user"}

    def handles(self, event: PublishedEvent) -> bool:
        return event.aggregate in ("user", "task")

    def tracks(self, event: PublishedEvent) -> bool:
        return True

    async def prefetch(self, events: Sequence[PublishedEvent], session: Session) -> None:
        users = {e.stream_id for e in events if e.aggregate == "user"}
        tasks = {e.stream_id for e in events if e.aggregate == "task"}
        await session.prefetch(self.index, tasks)
        for event in events:
            if event.type == "task.created":
                users.add(str(event.data["user_id"]))
            elif event.aggregate == "task":
                entry = await session.get(self.index, event.stream_id)
                if entry is not None:
                    users.add(entry["user_id"])
        await session.prefetch(self.users, users)
        await session.prefetch(self.pending, users)

    async def apply(self, event: PublishedEvent, session: Session) -> None:
        if event.aggregate == "user":
            await self._apply_user(event, session)
        else:
            await self._apply_task(event, session)

    async def _apply_user(self, event: PublishedEvent, session: Session) -> None:
        uid, data, version = event.stream_id, event.data, event.stream_version
        current = await session.get(self.users, uid)
        at_ = utc_text(event.occurred_at)
        if event.type == "user.registered":
            session.put(
                self.users,
                uid,
                {
                    "id": uid,
                    "email": data["email"],
                    "username": data["username"],
                    "full_name": data.get("full_name"),
                    "bio": data.get("bio"),
                    "status": "active",
                    "role": "member",
                    "created_at": at_,
                    "updated_at": at_,
                    "version": version,
                    "task_counts": await self._pending_counts(session, uid),
                    "_email": data["email"].casefold(),
                    "_username": data["username"].casefold(),
                },
            )
            return
        if current is None:
            return  # deleted, or its registration was never applied
        if event.type == "user.deleted":
            session.delete(self.users, uid)
            session.put(self.pending, uid, {"deleted": True})
            return
        changes: dict[str, object] = {"version": version, "updated_at": at_}
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
        session.put(self.users, uid, current | changes)

    async def _apply_task(self, event: PublishedEvent, session: Session) -> None:
        if event.type not in _COUNTED:
            return  # details do not change counts
        tid = event.stream_id
        entry = await session.get(self.index, tid)
        if event.type == "task.created":
            owner, before = str(event.data["user_id"]), None
        elif entry is None:
            return  # its task.created was never applied: nothing to count
        else:
            owner, before = entry["user_id"], None if entry["deleted"] else entry["status"]
        status: str | None = (
            None
            if event.type == "task.deleted"
            else _STATUS_AFTER.get(event.type) or str(event.data["to_status"])
        )
        session.put(
            self.index,
            tid,
            {
                "id": tid,
                "user_id": owner,
                "status": status or (entry or {}).get("status"),
                "deleted": status is None,
            },
        )
        user = await session.get(self.users, owner)
        if user is None:  # kept until the owner's registration comes
            pending = await session.get(self.pending, owner)
            if pending is not None and pending.get("deleted"):
                return
            counts = _moved(pending["task_counts"] if pending else _NONE, before, status)
            session.put(self.pending, owner, {"task_counts": counts})
            return
        counts = _moved(user["task_counts"], before, status)
        session.put(self.users, owner, user | {"task_counts": counts})

    async def _pending_counts(self, session: Session, user_id: str) -> dict[str, int]:
        pending = await session.get(self.pending, user_id)
        if pending is None:
            return dict(_NONE)
        session.delete(self.pending, user_id)
        counts: dict[str, int] = pending["task_counts"]
        return counts


_NONE = dict.fromkeys((*(status.value for status in TaskStatus), "total"), 0)


def _moved(counts: dict[str, int], before: str | None, after: str | None) -> dict[str, int]:
    """The counts once a task moved from status ``before`` to ``after`` (None: absent)."""
    moved = dict(counts)
    for status, by in ((before, -1), (after, 1)):
        if status is not None:
            moved[status] += by
            moved["total"] += by
    return moved

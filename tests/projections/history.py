"""A small but complete history, made through the real command handlers."""

from __future__ import annotations

import uuid

from cli.event_source import PublishedLog
from events.catalog import default_registry
from events.codec import EventCodec
from events.published import PublishedEvent
from events.tasks import Priority, TaskStatus
from tests.support.actors import as_admin
from tests.write_side.api.given import PASSWORD, unique
from write_side.bootstrap import WriteSide
from write_side.commands import (
    CompleteTask,
    CreateTask,
    DeleteTask,
    DeleteUser,
    RegisterUser,
    TrackActivity,
    UpdateTask,
    UpdateUser,
)


def make_history(ws: WriteSide) -> list[uuid.UUID]:
    """Two users (one deleted), tasks through every status move, and tracked activity."""
    ctx = as_admin(correlation_id="history")
    users = []
    for _ in range(2):
        name = unique()
        user_id = uuid.uuid4()
        ws.users.register(RegisterUser(user_id, f"{name}@example.com", name, PASSWORD), ctx)
        users.append(user_id)
    ws.users.update(UpdateUser(users[0], full_name="Renamed", bio="bio"), ctx)
    tasks = []
    for owner, priority in (
        (users[0], Priority.HIGH),
        (users[0], Priority.LOW),
        (users[1], Priority.URGENT),
    ):
        task_id = uuid.uuid4()
        ws.tasks.create(CreateTask(task_id, owner, f"task {priority}", priority=priority), ctx)
        tasks.append(task_id)
    ws.tasks.update(UpdateTask(tasks[0], status=TaskStatus.IN_PROGRESS, title="started"), ctx)
    ws.tasks.complete(CompleteTask(tasks[0]), ctx)
    ws.tasks.update(UpdateTask(tasks[1], status=TaskStatus.CANCELLED), ctx)
    ws.tasks.update(UpdateTask(tasks[1], status=TaskStatus.TODO), ctx)
    ws.tasks.delete(DeleteTask(tasks[2]), ctx)
    for user_id in users:
        ws.activity.track(TrackActivity(uuid.uuid4(), "ui", "click", user_id=user_id), ctx)
    ws.users.delete(DeleteUser(users[1]), ctx)
    return users + tasks


async def published_since(ws: WriteSide, position: int) -> list[PublishedEvent]:
    log = PublishedLog(ws.store, EventCodec(default_registry()))
    events: list[PublishedEvent] = []
    while True:
        batch, position_after = await log.read_all(position, 500)
        if position_after == position:
            return events
        events += batch
        position = position_after

"""Races through the real HTTP stack against the real event store."""

from __future__ import annotations

import asyncio
from uuid import UUID

import httpx

from events.tasks import TaskDetailsChanged
from tests.write_side.api.given import a_task, a_user, new_user_body, unique
from write_side.bootstrap import WriteSide


async def test_fifty_concurrent_registrations_of_one_username_admit_exactly_one(
    commands: httpx.AsyncClient,
) -> None:
    username = unique()

    responses = await asyncio.gather(
        *(commands.post("/api/v1/users", json=new_user_body(username=username)) for _ in range(50))
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 49


async def test_hundred_concurrent_patches_lose_no_update(
    commands: httpx.AsyncClient, write_side: WriteSide
) -> None:
    task = await a_task(commands, (await a_user(commands))["id"])
    url = f"/api/v1/tasks/{task['id']}"

    responses = await asyncio.gather(
        *(commands.patch(url, json={"title": f"title {i}"}) for i in range(100))
    )

    ok = [r for r in responses if r.status_code == 200]
    assert {r.status_code for r in responses} <= {200, 409}
    history = write_side.store.load(UUID(task["id"]))
    # Version 1 is the creation; every 200 appended exactly one event, and nothing else did.
    assert history[-1].stream_version == 1 + len(ok)
    applied = [e.event.title for e in history if isinstance(e.event, TaskDetailsChanged)]
    assert sorted(applied) == sorted(r.json()["title"] for r in ok)
    assert sorted(r.json()["version"] for r in ok) == list(range(2, 2 + len(ok)))

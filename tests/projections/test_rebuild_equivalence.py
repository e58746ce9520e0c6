"""Random command sequences, then a rebuild: the rebuilt read models equal the live ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.catalog import NAMES
from read_side.generations import Generations
from tests.conftest import System
from tests.projections.snapshots import snapshot
from tests.projections.test_rebuild import caught_up, rebuild_of
from tests.write_side.api.given import new_user_body
from write_side.bootstrap import WriteSide


@dataclass(frozen=True)
class Step:
    """One command: which of the example's users or tasks it touches, and how."""

    action: str
    target: int
    value: str


steps = st.lists(
    st.builds(
        Step,
        st.sampled_from(["task", "rename", "status", "complete", "delete", "bio", "track"]),
        st.integers(0, 5),
        st.sampled_from(["todo", "in_progress", "done", "cancelled", "a", "b"]),
    ),
    min_size=3,
    max_size=12,
)


async def run(api: Any, users: list[str], script: list[Step]) -> None:
    tasks: list[str] = []
    for step in script:
        user = users[step.target % len(users)]
        task = tasks[step.target % len(tasks)] if tasks else None
        match step.action:
            case "task":
                created = await api.post(
                    "/api/v1/tasks", json={"user_id": user, "title": step.value}
                )
                tasks.append(created.json()["id"])
            case "rename" if task:
                await api.patch(f"/api/v1/tasks/{task}", json={"title": step.value})
            case "status" if task and step.value in ("todo", "in_progress", "done", "cancelled"):
                await api.patch(f"/api/v1/tasks/{task}", json={"status": step.value})
            case "complete" if task:
                await api.post(f"/api/v1/tasks/{task}/complete")
            case "delete" if task:
                await api.delete(f"/api/v1/tasks/{task}")
            case "bio":
                await api.patch(f"/api/v1/users/{user}", json={"bio": step.value})
            case "track":
                await api.post(
                    "/api/v1/analytics/events",
                    json={"event_type": "ui", "event_name": step.value, "user_id": user},
                )


@pytest.fixture(scope="module")
async def users(system: System) -> list[str]:
    created = [await system.api.post("/api/v1/users", json=new_user_body()) for _ in range(2)]
    return [response.json()["id"] for response in created]


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=steps)
async def test_a_rebuild_reproduces_what_live_processing_built(
    system: System, write_side: WriteSide, users: list[str], script: list[Step]
) -> None:
    await run(system.api, users, script)
    await caught_up(system, write_side)
    live = {name: await snapshot(system.store, write_side, name) for name in NAMES}
    generations = {name: await Generations(system.store).current(name) for name in NAMES}

    for name in NAMES:
        await rebuild_of(system, write_side, name, batch_size=500, grace_seconds=0).run()
    await caught_up(system, write_side)

    for name in NAMES:
        assert await Generations(system.store).current(name) == generations[name] + 1
        assert await snapshot(system.store, write_side, name) == live[name], name

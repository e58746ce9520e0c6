"""Queries of tasks over HTTP, with state made only through the command API.

Every list is filtered by a user of the test's own, so tasks of other tests
sharing the read store never show.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import System
from tests.support.http import API, after, command, is_problem
from tests.write_side.api.given import new_user_body

TASK_FIELDS = {
    "id",
    "user_id",
    "title",
    "description",
    "status",
    "priority",
    "due_date",
    "created_at",
    "updated_at",
    "version",
}


async def a_user_id(api: httpx.AsyncClient) -> str:
    user_id: str = (await command(api, "POST", "/users", json=new_user_body())).json()["id"]
    return user_id


async def a_task(api: httpx.AsyncClient, user_id: str, title: str, **fields: Any) -> httpx.Response:
    return await command(api, "POST", "/tasks", json={"user_id": user_id, "title": title, **fields})


async def titles(api: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await api.get(f"{API}/tasks", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return [t["title"] for t in body["items"]]


async def test_tasks_filter_by_owner_status_priority_and_due_date(system: System) -> None:
    api = system.api
    uid, other = await a_user_id(api), await a_user_id(api)
    ids = {
        title: (await a_task(api, uid, title, priority=priority, due_date=due)).json()["id"]
        for title, priority, due in (
            ("alpha", "low", "2030-01-10"),
            ("beta", "medium", "2030-01-15"),
            ("gamma", "high", "2030-01-20"),
            ("delta", "urgent", None),
        )
    }
    await a_task(api, other, "foreign", priority="high", due_date="2030-01-01")
    await command(api, "POST", f"/tasks/{ids['alpha']}/complete")
    await command(api, "PATCH", f"/tasks/{ids['beta']}", json={"status": "cancelled"})
    last = await command(api, "PATCH", f"/tasks/{ids['gamma']}", json={"status": "in_progress"})
    await api.get(f"{API}/tasks", params={"user_id": uid}, headers=after(last))

    assert await titles(api, user_id=uid) == ["alpha", "beta", "gamma", "delta"]
    assert await titles(api, user_id=uid, status="done") == ["alpha"]
    assert await titles(api, user_id=uid, status="cancelled") == ["beta"]
    assert await titles(api, user_id=uid, status="in_progress") == ["gamma"]
    assert await titles(api, user_id=uid, status="todo") == ["delta"]
    assert await titles(api, user_id=uid, priority="high") == ["gamma"]
    assert await titles(api, user_id=uid, priority="urgent") == ["delta"]
    assert await titles(api, user_id=uid, priority="medium", status="cancelled") == ["beta"]
    assert await titles(api, user_id=uid, priority="low", status="todo") == []
    # strictly before the day; a task without a due date is never "due before"
    assert await titles(api, user_id=uid, due_before="2030-01-10") == []
    assert await titles(api, user_id=uid, due_before="2030-01-15") == ["alpha"]
    assert await titles(api, user_id=uid, due_before="2030-01-16") == ["alpha", "beta"]
    assert await titles(api, user_id=uid, due_before="2099-12-31") == ["alpha", "beta", "gamma"]
    assert await titles(api, user_id=uid, due_before="2099-12-31", priority="high") == ["gamma"]
    assert await titles(api, user_id=other) == ["foreign"]


async def test_pages_of_tasks_have_exact_envelopes(system: System) -> None:
    uid = await a_user_id(system.api)
    created = [await a_task(system.api, uid, f"t{i}") for i in range(3)]
    await system.api.get(f"{API}/tasks/{created[-1].json()['id']}", headers=after(created[-1]))

    first, second = [
        (await system.api.get(f"{API}/tasks", params={"user_id": uid, "limit": 2, "offset": o}))
        for o in (0, 2)
    ]
    of_user = await system.api.get(f"{API}/users/{uid}/tasks", params={"limit": 2, "offset": 2})

    for page, titles_, has_next, has_prev in (
        (first.json(), ["t0", "t1"], True, False),
        (second.json(), ["t2"], False, True),
        (of_user.json(), ["t2"], False, True),
    ):
        assert [t["title"] for t in page["items"]] == titles_
        assert (page["total"], page["limit"], page["has_next"], page["has_prev"]) == (
            3,
            2,
            has_next,
            has_prev,
        )
    default = (await system.api.get(f"{API}/users/{uid}/tasks")).json()
    assert (default["limit"], default["offset"], default["total"]) == (20, 0, 3)


async def test_a_task_by_id(system: System) -> None:
    uid = await a_user_id(system.api)
    created = await a_task(
        system.api, uid, "Write", description="the report", priority="high", due_date="2031-02-03"
    )
    task = created.json()

    response = await system.api.get(f"{API}/tasks/{task['id']}", headers=after(created))

    assert response.status_code == 200
    assert set(response.json()) == TASK_FIELDS
    same = ("id", "user_id", "title", "description", "status", "priority", "due_date", "version")
    assert {k: response.json()[k] for k in same} == {k: task[k] for k in same}
    assert response.json()["due_date"] == "2031-02-03"
    assert int(response.headers["x-read-position"]) >= int(created.headers["x-event-position"])


async def test_a_deleted_task_is_gone(system: System) -> None:
    uid = await a_user_id(system.api)
    kept = (await a_task(system.api, uid, "kept")).json()
    doomed = await a_task(system.api, uid, "doomed")
    tid = doomed.json()["id"]
    await system.api.get(f"{API}/tasks/{tid}", headers=after(doomed))  # cached now

    deleted = await command(system.api, "DELETE", f"/tasks/{tid}")
    by_id = await system.api.get(f"{API}/tasks/{tid}", headers=after(deleted))
    listed = await system.api.get(f"{API}/tasks", params={"user_id": uid})
    of_user = await system.api.get(f"{API}/users/{uid}/tasks")

    assert is_problem(by_id, 404)
    assert [t["id"] for t in listed.json()["items"]] == [kept["id"]]
    assert [t["id"] for t in of_user.json()["items"]] == [kept["id"]]


async def test_unknown_tasks_and_owners_are_404(system: System) -> None:
    unknown = uuid.uuid4()

    task = await system.api.get(f"{API}/tasks/{unknown}")
    tasks_of_unknown = await system.api.get(f"{API}/users/{unknown}/tasks")
    listed = await system.api.get(f"{API}/tasks", params={"user_id": str(unknown)})

    assert is_problem(task, 404)
    assert is_problem(tasks_of_unknown, 404)
    assert listed.status_code == 200
    assert listed.json()["total"] == 0


async def test_tasks_of_users_just_registered_are_empty_pages(system: System) -> None:
    """Read-your-writes: with the registration's position, the user's task list must answer.

    The endpoint reads two read models (users for existence, tasks for the page), so it must
    wait for both projectors; waiting for one answered 404 in most rounds of 20.
    """
    for _ in range(5):
        registered = await asyncio.gather(
            *(command(system.api, "POST", "/users", json=new_user_body()) for _ in range(20))
        )
        last = max(registered, key=lambda r: int(r.headers["x-event-position"]))

        responses = await asyncio.gather(
            *(
                system.api.get(f"{API}/users/{r.json()['id']}/tasks", headers=after(last))
                for r in registered
            )
        )

        assert [r.status_code for r in responses] == [200] * len(responses), [
            r.text for r in responses if r.status_code != 200
        ][:1]
        assert all(r.json()["total"] == 0 for r in responses)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/tasks/not-a-uuid", {}),
        ("/users/not-a-uuid/tasks", {}),
        ("/tasks", {"user_id": "nope"}),
        ("/tasks", {"status": "finished"}),
        ("/tasks", {"priority": "whenever"}),
        ("/tasks", {"due_before": "tomorrow"}),
        ("/tasks", {"due_before": "2030-02-30"}),
        ("/tasks", {"limit": 0}),
        ("/tasks", {"limit": 101}),
        ("/tasks", {"offset": -1}),
    ],
)
async def test_invalid_task_queries_are_422(
    system: System, path: str, params: dict[str, Any]
) -> None:
    response = await system.api.get(f"{API}{path}", params=params)

    assert is_problem(response, 422)

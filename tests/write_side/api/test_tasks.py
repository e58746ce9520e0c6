from __future__ import annotations

import httpx
import pytest

from tests.write_side.api.given import a_task, a_user

TASKS = "/api/v1/tasks"


async def test_create_returns_the_task(commands: httpx.AsyncClient) -> None:
    user = await a_user(commands)

    response = await commands.post(
        TASKS, json={"user_id": user["id"], "title": " Plan ", "due_date": "2027-01-31"}
    )

    assert response.status_code == 201
    task = response.json()
    assert (task["title"], task["status"], task["priority"], task["due_date"]) == (
        "Plan", "todo", "medium", "2027-01-31",
    )  # fmt: skip
    assert (task["user_id"], task["version"], task["description"]) == (user["id"], 1, None)
    assert response.headers["location"] == f"{TASKS}/{task['id']}"


@pytest.mark.parametrize("state", ["missing", "inactive", "deleted"])
async def test_owner_must_exist_and_be_active(commands: httpx.AsyncClient, state: str) -> None:
    user_id = "00000000-0000-4000-8000-000000000000"
    if state != "missing":
        user_id = (await a_user(commands))["id"]
        if state == "inactive":
            await commands.post(f"/api/v1/users/{user_id}/deactivate")
        else:
            await commands.delete(f"/api/v1/users/{user_id}")

    response = await commands.post(TASKS, json={"user_id": user_id, "title": "x"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "user_id"]


async def test_patch_details_and_status(commands: httpx.AsyncClient) -> None:
    task = await a_task(commands, (await a_user(commands))["id"])
    url = f"{TASKS}/{task['id']}"

    response = await commands.patch(
        url, json={"title": "Renamed", "priority": "urgent", "status": "in_progress"}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["priority"], body["status"], body["version"]) == (
        "Renamed", "urgent", "in_progress", 3,
    )  # fmt: skip


async def test_status_machine_over_http(commands: httpx.AsyncClient) -> None:
    task = await a_task(commands, (await a_user(commands))["id"])
    url = f"{TASKS}/{task['id']}"

    assert (await commands.patch(url, json={"status": "cancelled"})).status_code == 200
    backwards = await commands.patch(url, json={"status": "in_progress"})
    assert backwards.status_code == 409
    assert backwards.json()["detail"] == "task cannot go from cancelled to in_progress"
    assert (await commands.patch(url, json={"status": "todo"})).json()["status"] == "todo"
    completed = await commands.post(f"{url}/complete")
    assert completed.status_code == 204
    assert completed.headers["etag"] == '"4"'
    again = await commands.post(f"{url}/complete")
    assert (again.status_code, again.headers["etag"]) == (204, '"4"')


async def test_delete_then_everything_is_404(commands: httpx.AsyncClient) -> None:
    task = await a_task(commands, (await a_user(commands))["id"])
    url = f"{TASKS}/{task['id']}"

    assert (await commands.delete(url)).status_code == 204
    assert (await commands.delete(url)).status_code == 404
    assert (await commands.patch(url, json={"title": "x"})).status_code == 404
    assert (await commands.post(f"{url}/complete")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"title": None},
        {"title": ""},
        {"priority": "whenever"},
        {"status": "lost"},
        {"due_date": "soon"},
    ],
)
async def test_invalid_patch_is_422(commands: httpx.AsyncClient, body: dict[str, object]) -> None:
    task = await a_task(commands, (await a_user(commands))["id"])

    response = await commands.patch(f"{TASKS}/{task['id']}", json=body)

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][:2] == ["body", next(iter(body))]

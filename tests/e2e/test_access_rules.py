"""Who may change and read what, over HTTP through the whole system.

Members act on themselves and their own tasks; admins on anyone. Someone else's
user, task, analytics or audit trail looks exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import System, bearer
from tests.support.http import API, after, command, is_problem
from tests.write_side.api.given import a_user


@dataclass
class Member:
    id: str
    headers: dict[str, str]
    task: dict[str, Any]
    seen: dict[str, str]
    """X-Min-Position for queries: everything this member made has been applied."""


async def a_member(system: System) -> Member:
    user = await a_user(system.api)
    headers = bearer(system.tokens, user["id"])
    response = await system.api.post(f"{API}/tasks", json={"title": "Mine"}, headers=headers)
    assert response.status_code == 201, response.text
    tracked = await system.api.post(
        f"{API}/analytics/events", json={"event_type": "page", "event_name": "home"},
        headers=headers,
    )  # fmt: skip
    assert tracked.status_code == 201, tracked.text
    return Member(user["id"], headers, response.json(), after(tracked))


@pytest.fixture(scope="module")
async def alice(system: System) -> Member:
    return await a_member(system)


@pytest.fixture(scope="module")
async def bob(system: System) -> Member:
    return await a_member(system)


async def test_a_task_created_without_an_owner_is_the_callers(alice: Member) -> None:
    assert alice.task["user_id"] == alice.id


async def test_requests_without_a_token_are_refused(system: System, alice: Member) -> None:
    anonymous = {"Authorization": ""}
    answers = [
        await system.api.get(f"{API}/users/{alice.id}", headers=anonymous),
        await system.api.get(f"{API}/tasks", headers=anonymous),
        await system.api.post(f"{API}/tasks", json={"title": "x"}, headers=anonymous),
        await system.api.patch(f"{API}/users/{alice.id}", json={}, headers=anonymous),
        await system.api.get(
            f"{API}/users/{alice.id}", headers={"Authorization": "Bearer forged.token.here"}
        ),
    ]
    assert all(is_problem(a, 401) for a in answers), [a.text for a in answers]
    assert all("www-authenticate" in a.headers for a in answers)


async def test_registration_and_health_need_no_token(system: System) -> None:
    anonymous = {"Authorization": ""}
    registered = await system.api.post(
        f"{API}/users",
        json={"email": "x@example.com", "username": "x", "password": "p"},
        headers=anonymous,
    )
    assert registered.status_code == 422  # refused on content, not on who asks
    assert (await system.api.get("/health", headers=anonymous)).status_code == 200


OTHERS_COMMANDS = [
    ("PATCH", "/tasks/{task}", {"title": "mine now"}),
    ("POST", "/tasks/{task}/complete", None),
    ("DELETE", "/tasks/{task}", None),
    ("PATCH", "/users/{user}", {"bio": "mine now"}),
    ("POST", "/users/{user}/password", {"current_password": "x", "new_password": "y"}),
    ("POST", "/users/{user}/deactivate", None),
    ("DELETE", "/users/{user}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), OTHERS_COMMANDS)
async def test_a_member_cannot_change_someone_elses_user_or_task(
    system: System, alice: Member, bob: Member, method: str, path: str, body: Any
) -> None:
    """BOLA: the answer is the 404 of a missing resource, and nothing is appended."""
    url = API + path.format(task=bob.task["id"], user=bob.id)
    missing = API + path.format(task="00000000-0000-4000-8000-000000000000",
                                user="00000000-0000-4000-8000-000000000000")  # fmt: skip

    refused = await system.api.request(method, url, json=body, headers=alice.headers)
    absent = await system.api.request(method, missing, json=body, headers=alice.headers)

    assert is_problem(refused, 404), refused.text
    assert refused.json()["title"] == absent.json()["title"]
    audit = await system.api.get(f"{API}/audit/{bob.task['id']}", headers=bob.seen)
    assert audit.json()["total"] == 1


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/tasks", {"title": "for bob", "user_id": "{user}"}),
        ("POST", "/analytics/events", {"event_type": "x", "event_name": "y", "user_id": "{user}"}),
        ("POST", "/users/{user}/activate", None),
        ("PUT", "/users/{user}/role", {"role": "admin"}),
        ("PUT", "/users/{me}/role", {"role": "admin"}),
    ],
)
async def test_what_reveals_nothing_is_a_403(
    system: System, alice: Member, bob: Member, method: str, path: str, body: Any
) -> None:
    def fill(text: str) -> str:
        return text.replace("{user}", bob.id).replace("{me}", alice.id)

    json = {k: fill(v) for k, v in body.items()} if body else None
    refused = await system.api.request(method, API + fill(path), json=json, headers=alice.headers)

    assert is_problem(refused, 403), refused.text


OTHERS_QUERIES = [
    "/users/{user}",
    "/users/{user}/tasks",
    "/tasks/{task}",
    "/analytics/events/user/{user}",
    "/analytics/summary/user/{user}",
    "/audit/{user}",
    "/audit/{task}",
]


@pytest.mark.parametrize("path", OTHERS_QUERIES)
async def test_a_member_reads_their_own_and_not_someone_elses(
    system: System, alice: Member, bob: Member, path: str
) -> None:
    own = await system.api.get(
        API + path.format(user=alice.id, task=alice.task["id"]),
        headers=alice.headers | alice.seen,
    )
    others = await system.api.get(
        API + path.format(user=bob.id, task=bob.task["id"]), headers=alice.headers | bob.seen
    )

    assert own.status_code == 200, own.text
    assert is_problem(others, 404), others.text


async def test_a_cached_task_is_still_hidden_from_others(
    system: System, alice: Member, bob: Member
) -> None:
    url = f"{API}/tasks/{bob.task['id']}"
    assert (await system.api.get(url, headers=bob.headers | bob.seen)).status_code == 200
    assert await system.cached("task", bob.task["id"]) is not None

    assert is_problem(await system.api.get(url, headers=alice.headers), 404)


async def test_a_member_lists_only_their_own_tasks(
    system: System, alice: Member, bob: Member
) -> None:
    mine = await system.api.get(f"{API}/tasks", headers=alice.headers | alice.seen)
    theirs = await system.api.get(f"{API}/tasks", params={"user_id": bob.id}, headers=alice.headers)

    assert {t["user_id"] for t in mine.json()["items"]} == {alice.id}
    assert is_problem(theirs, 403)


async def test_only_admins_list_and_search_users(system: System, alice: Member) -> None:
    assert is_problem(await system.api.get(f"{API}/users", headers=alice.headers), 403)
    assert (await system.api.get(f"{API}/users", headers=alice.seen)).status_code == 200


async def test_finding_someone_by_name_or_email_is_hidden_too(
    system: System, alice: Member, bob: Member
) -> None:
    bob_user = (await system.api.get(f"{API}/users/{bob.id}", headers=bob.seen)).json()

    by_name = await system.api.get(
        f"{API}/users/by-username/{bob_user['username']}", headers=alice.headers
    )
    by_email = await system.api.get(
        f"{API}/users/by-email", params={"email": bob_user["email"]}, headers=alice.headers
    )

    assert is_problem(by_name, 404)
    assert is_problem(by_email, 404)


async def test_the_actor_of_each_event_is_the_caller(system: System, alice: Member) -> None:
    """Alice's own change records Alice; an admin's change of her task records the admin."""
    own = await command(
        system.api, "PATCH", f"/tasks/{alice.task['id']}", json={"title": "by alice"},
        headers=alice.headers,
    )  # fmt: skip
    by_admin = await command(
        system.api, "PATCH", f"/tasks/{alice.task['id']}", json={"title": "by admin"}
    )
    admin = system.tokens.verify(system.api.headers["authorization"].split()[1]).subject

    trail = await system.api.get(f"{API}/audit/{alice.task['id']}", headers=after(by_admin))
    actors = {e["stream_version"]: e["actor"] for e in trail.json()["items"]}

    assert actors[int(own.headers["etag"].strip('"'))] == alice.id
    assert actors[int(by_admin.headers["etag"].strip('"'))] == str(admin)


async def test_an_admin_grants_a_role_that_the_next_token_carries(
    system: System, alice: Member
) -> None:
    member = await a_user(system.api)
    granted = await command(system.api, "PUT", f"/users/{member['id']}/role",
                            json={"role": "admin"})  # fmt: skip
    token = await system.api.post(
        f"{API}/auth/token",
        json={"username": member["username"], "password": "Sturdy-Password-42"},
        headers={"Authorization": ""},
    )
    as_new_admin = {"Authorization": f"Bearer {token.json()['access_token']}"}

    assert granted.json()["role"] == "admin"
    assert system.tokens.verify(token.json()["access_token"]).role == "admin"
    read = await system.api.get(f"{API}/users/{alice.id}", headers=as_new_admin)
    assert read.status_code == 200


async def test_another_callers_idempotency_key_never_replays_the_first_result(
    system: System, alice: Member, bob: Member
) -> None:
    key = {"Idempotency-Key": f"shared-{alice.id}"}
    body = {"title": "same body"}
    first = await system.api.post(f"{API}/tasks", json=body, headers=alice.headers | key)

    second = await system.api.post(f"{API}/tasks", json=body, headers=bob.headers | key)

    assert first.status_code == 201
    assert is_problem(second, 422)

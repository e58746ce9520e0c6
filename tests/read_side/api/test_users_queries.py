"""Queries of users over HTTP, with state made only through the command API.

The database and read store are shared with every other test of the session,
so each test makes its own users (unique names, a unique token in full_name)
and looks only at them.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from read_side.api.app import create_query_app
from read_side.bootstrap import ReadSide
from read_side.cache import DocumentCache
from tests.conftest import System
from tests.support.http import API, after, command, is_problem
from tests.write_side.api.given import new_user_body, unique

PUBLIC_FIELDS = {
    "id",
    "email",
    "username",
    "full_name",
    "role",
    "bio",
    "status",
    "created_at",
    "updated_at",
    "version",
    "task_counts",
}


async def register(api: httpx.AsyncClient, **overrides: Any) -> httpx.Response:
    return await command(api, "POST", "/users", json=new_user_body(**overrides))


async def test_a_user_by_id_shows_public_fields_only(system: System) -> None:
    registered = await register(system.api, full_name="Ada Lovelace", bio="Analyst")
    uid = registered.json()["id"]

    response = await system.api.get(f"{API}/users/{uid}", headers=after(registered))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    user = response.json()
    assert set(user) == PUBLIC_FIELDS
    assert not any("password" in key or "hash" in key for key in user)
    expected = {k: registered.json()[k] for k in ("id", "email", "username", "full_name", "bio")}
    assert {k: user[k] for k in expected} == expected
    assert (user["status"], user["version"]) == ("active", 1)
    assert user["task_counts"] == {
        "todo": 0,
        "in_progress": 0,
        "done": 0,
        "cancelled": 0,
        "total": 0,
    }
    assert int(response.headers["x-read-position"]) >= int(registered.headers["x-event-position"])


async def test_every_successful_query_carries_its_read_position(system: System) -> None:
    registered = await register(system.api)
    user = registered.json()
    task = await command(system.api, "POST", "/tasks", json={"user_id": user["id"], "title": "t"})
    awaited = int(task.headers["x-event-position"])
    paths = [
        f"/users/{user['id']}",
        f"/users/by-username/{user['username']}",
        f"/users/by-email?email={user['email']}",
        f"/users?search={user['username']}",
        f"/users/{user['id']}/tasks",
        f"/tasks/{task.json()['id']}",
        f"/tasks?user_id={user['id']}",
        f"/analytics/events/user/{user['id']}",
        f"/analytics/summary/user/{user['id']}",
        f"/audit/{user['id']}",
    ]

    for path in paths:
        response = await system.api.get(f"{API}{path}", headers=after(task))
        assert response.status_code == 200, (path, response.text)
        assert int(response.headers["x-read-position"]) >= awaited, path


async def test_a_not_found_answer_carries_its_read_position_too(system: System) -> None:
    # DESIGN.md: "Every query response carries X-Read-Position." A 404 is an answer read from
    # the read model at some position; without the header a client cannot tell how fresh it is.
    registered = await register(system.api)
    awaited, missing = int(registered.headers["x-event-position"]), uuid.uuid4()

    paths = [
        f"/users/{missing}",
        f"/users/by-username/{unique('nobody')}",
        f"/users/{missing}/tasks",
        f"/tasks/{missing}",
        f"/analytics/summary/user/{missing}",
        f"/audit/{missing}",
    ]

    without = []
    for path in paths:
        response = await system.api.get(f"{API}{path}", headers=after(registered))
        assert is_problem(response, 404), path
        if int(response.headers.get("x-read-position", -1)) < awaited:
            without.append(path)

    assert without == []


async def test_unknown_user_is_404_and_malformed_id_is_422(system: System) -> None:
    unknown = await system.api.get(f"{API}/users/{uuid.uuid4()}")
    malformed = await system.api.get(f"{API}/users/not-a-uuid")

    assert is_problem(unknown, 404)
    assert unknown.json()["instance"].startswith(f"{API}/users/")
    assert is_problem(malformed, 422)


async def test_by_username_and_by_email_ignore_case(system: System) -> None:
    name = unique("Mixed_Case.")
    registered = await register(system.api, username=name, email=f"{name}@Example.COM")
    uid = registered.json()["id"]

    for username in (name, name.upper(), name.lower()):
        found = await system.api.get(
            f"{API}/users/by-username/{username}", headers=after(registered)
        )
        assert found.status_code == 200, username
        assert (found.json()["id"], found.json()["username"]) == (uid, name)
        assert set(found.json()) == PUBLIC_FIELDS
    for email in (f"{name}@example.com", f"{name.upper()}@EXAMPLE.COM"):
        found = await system.api.get(f"{API}/users/by-email", params={"email": email})
        assert found.status_code == 200, email
        assert found.json()["id"] == uid


async def test_by_username_and_by_email_follow_changes_and_refuse_nonsense(system: System) -> None:
    registered = await register(system.api)
    old = registered.json()
    new_name = unique()
    changed = await command(
        system.api,
        "PATCH",
        f"/users/{old['id']}",
        json={"username": new_name, "email": f"{new_name}@example.com"},
    )

    by_new = await system.api.get(f"{API}/users/by-username/{new_name}", headers=after(changed))
    by_old = await system.api.get(f"{API}/users/by-username/{old['username']}")
    by_old_email = await system.api.get(f"{API}/users/by-email", params={"email": old["email"]})
    invalid = await system.api.get(f"{API}/users/by-email", params={"email": "not-an-email"})
    absent = await system.api.get(f"{API}/users/by-email")

    assert by_new.json()["id"] == old["id"]
    assert is_problem(by_old, 404)
    assert is_problem(by_old_email, 404)
    assert is_problem(invalid, 422)
    assert is_problem(absent, 422)


async def test_pages_of_users_have_exact_envelopes(system: System) -> None:
    token = unique("page")
    created = [(await register(system.api, full_name=f"{token} {i}")) for i in range(5)]
    ids = [r.json()["id"] for r in created]
    await system.api.get(f"{API}/users/{ids[-1]}", headers=after(created[-1]))

    pages = [
        (await system.api.get(f"{API}/users", params={"search": token, "limit": 2, "offset": o}))
        for o in (0, 2, 4, 6)
    ]
    envelopes = [p.json() for p in pages]

    assert [
        (e["total"], e["limit"], e["offset"], len(e["items"]), e["has_next"], e["has_prev"])
        for e in envelopes
    ] == [
        (5, 2, 0, 2, True, False),
        (5, 2, 2, 2, True, True),
        (5, 2, 4, 1, False, True),
        (5, 2, 6, 0, False, True),
    ]
    assert [u["id"] for e in envelopes for u in e["items"]] == ids  # oldest first, no repeats
    assert all(set(u) == PUBLIC_FIELDS for e in envelopes for u in e["items"])
    default = (await system.api.get(f"{API}/users", params={"search": token})).json()
    assert (default["limit"], default["offset"], len(default["items"])) == (20, 0, 5)


async def test_status_filters_users(system: System) -> None:
    token = unique("status")
    created = [(await register(system.api, full_name=f"{token} {i}")).json() for i in range(3)]
    deactivated = await command(system.api, "POST", f"/users/{created[1]['id']}/deactivate")

    def ids(response: httpx.Response) -> list[str]:
        return [u["id"] for u in response.json()["items"]]

    query = {"search": token}
    inactive = await system.api.get(
        f"{API}/users", params=query | {"status": "inactive"}, headers=after(deactivated)
    )
    active = await system.api.get(f"{API}/users", params=query | {"status": "active"})
    either = await system.api.get(f"{API}/users", params=query)
    bogus = await system.api.get(f"{API}/users", params=query | {"status": "deleted"})

    assert ids(inactive) == [created[1]["id"]]
    assert inactive.json()["items"][0]["status"] == "inactive"
    assert ids(active) == [created[0]["id"], created[2]["id"]]
    assert either.json()["total"] == 3
    assert is_problem(bogus, 422)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": -1},
        {"offset": -1},
        {"offset": 1_000_001},
        {"limit": "x"},
        {"offset": "y"},
    ],
)
async def test_paging_outside_its_bounds_is_422(system: System, params: dict[str, Any]) -> None:
    response = await system.api.get(f"{API}/users", params=params)

    assert is_problem(response, 422)
    assert response.json()["errors"]


async def test_search_is_literal_and_ignores_case(system: System) -> None:
    token = unique("lit")
    special = await register(system.api, full_name=f"{token} a.b(c)* x")
    lookalike = await register(system.api, full_name=f"{token} axbcc x")
    await system.api.get(f"{API}/users/{lookalike.json()['id']}", headers=after(lookalike))

    async def found(search: str) -> list[str]:
        response = await system.api.get(f"{API}/users", params={"search": search, "limit": 100})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        return [u["id"] for u in body["items"]]

    assert await found(f"{token} a.b(c)*") == [special.json()["id"]]
    assert await found(f"{token.upper()} A.B(C)*") == [special.json()["id"]]
    assert await found(f"{token} axb") == [lookalike.json()["id"]]
    assert await found(f"{token}.*") == []  # as a regex it would match both
    assert await found(f"{token} a.b(c)* X") == [special.json()["id"]]


@pytest.mark.parametrize(
    "operator",
    ['{"$where": "1"}', "$regex", "$ne", "^", "\\", ".*", "|", "[", "(", "(?i)", "*", "%"],
)
async def test_search_treats_operators_and_regex_syntax_as_text(
    system: System, operator: str
) -> None:
    token = unique("op")
    holder = await register(system.api, full_name=f"{token}{operator}end")
    await register(system.api, full_name=f"{token}-plain")
    await system.api.get(f"{API}/users/{holder.json()['id']}", headers=after(holder))

    mine = await system.api.get(f"{API}/users", params={"search": f"{token}{operator}"})
    alone = await system.api.get(f"{API}/users", params={"search": operator, "limit": 100})

    assert mine.status_code == 200, mine.text
    assert [u["id"] for u in mine.json()["items"]] == [holder.json()["id"]]
    assert alone.status_code == 200, alone.text
    for user in alone.json()["items"]:
        fields = (user["username"], user["email"], user["full_name"] or "")
        assert any(operator.casefold() in f.casefold() for f in fields), user
    assert holder.json()["id"] in [u["id"] for u in alone.json()["items"]] or (
        alone.json()["total"] > 100
    )


async def test_search_longer_than_allowed_is_422(system: System) -> None:
    response = await system.api.get(f"{API}/users", params={"search": "x" * 101})

    assert is_problem(response, 422)


async def test_query_responses_echo_the_request_id(system: System) -> None:
    registered = await register(system.api)
    request_id = unique("req-q.")

    found = await system.api.get(
        f"{API}/users/{registered.json()['id']}", headers={"X-Request-ID": request_id}
    )
    missing = await system.api.get(
        f"{API}/users/{uuid.uuid4()}", headers={"X-Request-ID": request_id}
    )
    generated = await system.api.get(f"{API}/users", params={"limit": 1})

    assert found.headers["x-request-id"] == request_id
    assert missing.headers["x-request-id"] == request_id
    assert missing.json()["request_id"] == request_id
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])


async def test_head_answers_like_get_without_a_body(system: System) -> None:
    # DESIGN.md routes GET and HEAD to the query app (cli/asgi.py does), so HEAD must answer.
    registered = await register(system.api)
    path = f"{API}/users/{registered.json()['id']}"
    got = await system.api.get(path, headers=after(registered))

    head = await system.api.head(path, headers={"X-Request-ID": "head-1"})
    head_list = await system.api.head(f"{API}/users", params={"limit": 1})

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == got.headers["content-length"]
    assert int(head.headers["x-read-position"]) >= int(got.headers["x-read-position"])
    assert head.headers["x-request-id"] == "head-1"
    assert (head_list.status_code, head_list.content) == (200, b"")


@pytest.fixture
async def impatient(system: System) -> AsyncIterator[httpx.AsyncClient]:
    """A query app on the session's read side that waits only 0.2 s for X-Min-Position."""
    read_side = ReadSide(system.store, system.cache, system.checkpoints, consistency_wait=0.2)
    transport = httpx.ASGITransport(app=create_query_app(read_side, system.tokens))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://q", headers=system.api.headers
    ) as client:
        yield client


@pytest.mark.parametrize(
    "path",
    [
        f"/users/{uuid.UUID(int=1)}",
        "/users",
        "/tasks",
        f"/analytics/events/user/{uuid.UUID(int=1)}",
        f"/audit/{uuid.UUID(int=1)}",
    ],
)
async def test_a_position_never_reached_is_504_in_bounded_time(
    impatient: httpx.AsyncClient, path: str
) -> None:
    started = time.monotonic()
    async with asyncio.timeout(5):
        response = await impatient.get(f"{API}{path}", headers={"X-Min-Position": str(10**12)})
    elapsed = time.monotonic() - started

    assert is_problem(response, 504)
    assert 0.2 <= elapsed < 1.0
    reached = int(response.headers["x-read-position"])
    assert response.json()["read_position"] == reached < 10**12
    assert response.headers["retry-after"]


@pytest.mark.parametrize("position", ["-1", "abc", "1.5", ""])
async def test_a_malformed_min_position_is_422(impatient: httpx.AsyncClient, position: str) -> None:
    response = await impatient.get(f"{API}/users", headers={"X-Min-Position": position})

    assert is_problem(response, 422)


async def test_a_position_already_reached_answers_at_once(
    system: System, impatient: httpx.AsyncClient
) -> None:
    registered = await register(system.api)
    await system.api.get(f"{API}/users/{registered.json()['id']}", headers=after(registered))

    response = await impatient.get(
        f"{API}/users/{registered.json()['id']}", headers={"X-Min-Position": "0"}
    )

    assert response.status_code == 200
    assert response.json()["id"] == registered.json()["id"]


async def test_a_second_read_is_the_cached_document(system: System) -> None:
    registered = await register(system.api)
    uid = registered.json()["id"]

    first = await system.api.get(f"{API}/users/{uid}", headers=after(registered))
    second = await system.api.get(f"{API}/users/{uid}")
    hit = await system.cached("user", uid)

    assert first.status_code == second.status_code == 200
    assert hit is not None
    assert hit.body == second.content
    assert orjson.loads(hit.body) == first.json() == second.json()


async def test_reads_after_writes_never_show_the_old_value(system: System) -> None:
    registered = await register(system.api)
    uid = registered.json()["id"]
    await system.api.get(f"{API}/users/{uid}", headers=after(registered))  # cached now

    for i in range(5):
        patched = await command(system.api, "PATCH", f"/users/{uid}", json={"bio": f"bio {i}"})
        read = await system.api.get(f"{API}/users/{uid}", headers=after(patched))
        hit = await system.cached("user", uid)

        assert (read.json()["bio"], read.json()["version"]) == (f"bio {i}", i + 2)
        assert hit is not None
        assert hit.body is not None
        assert orjson.loads(hit.body)["bio"] == f"bio {i}"


async def test_a_deleted_user_stays_gone_from_cache_and_queries(system: System) -> None:
    registered = await register(system.api)
    user = registered.json()
    await system.api.get(f"{API}/users/{user['id']}", headers=after(registered))  # cached now

    deleted = await command(system.api, "DELETE", f"/users/{user['id']}")
    by_id = await system.api.get(f"{API}/users/{user['id']}", headers=after(deleted))
    hit = await system.cached("user", user["id"])
    by_name = await system.api.get(f"{API}/users/by-username/{user['username']}")
    listed = await system.api.get(f"{API}/users", params={"search": user["username"]})

    assert is_problem(by_id, 404)
    assert hit is not None
    assert hit.body is None  # a tombstone
    assert is_problem(by_name, 404)
    assert listed.json()["total"] == 0


@pytest.fixture
async def without_redis(system: System) -> AsyncIterator[httpx.AsyncClient]:
    """A query app whose cache points at a port where nothing listens."""
    cache = await DocumentCache.connect("redis://127.0.0.1:1/0", "x")
    try:
        transport = httpx.ASGITransport(
            app=create_query_app(ReadSide(system.store, cache, system.checkpoints), system.tokens)
        )
        async with httpx.AsyncClient(
            transport=transport, base_url="http://q", headers=system.api.headers
        ) as client:
            yield client
    finally:
        await cache.close()


async def test_queries_answer_from_the_store_when_redis_is_down(
    system: System, without_redis: httpx.AsyncClient
) -> None:
    registered = await register(system.api)
    uid = registered.json()["id"]
    patched = await command(system.api, "PATCH", f"/users/{uid}", json={"full_name": "Changed"})
    expected = (await system.api.get(f"{API}/users/{uid}", headers=after(patched))).json()

    reads = [await without_redis.get(f"{API}/users/{uid}", headers=after(patched)) for _ in "ab"]
    missing = await without_redis.get(f"{API}/users/{uuid.uuid4()}")
    ready = await without_redis.get("/health/ready")
    ready_with_redis = await system.api.get("/health/ready")

    assert [(r.status_code, r.json()) for r in reads] == [(200, expected)] * 2
    assert expected["full_name"] == "Changed"
    assert is_problem(missing, 404)
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"redis": "down", "read_store": "ok"}
    assert ready_with_redis.json()["checks"]["redis"] == "ok"

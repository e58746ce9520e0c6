"""The fast path for GET by id answers exactly as the routes do, or leaves it to them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from common.problems import Problem
from read_side.api.app import create_query_app
from read_side.api.deps import _read_side
from read_side.bootstrap import ReadSide
from read_side.positions import StoreCheckpoints
from read_side.postgres import PostgresReadStore
from tests.conftest import System, bearer
from tests.support.faults import FaultyStore
from tests.support.http import API, after, command
from tests.write_side.api.given import new_user_body

Request = tuple[str, dict[str, str]]


def _apps(system: System) -> tuple[FastAPI, FastAPI]:
    """With and without the fast path, over the same read side; X-Min-Position waits
    only briefly, so a position never reached answers 504 quickly."""
    read_side = ReadSide(system.store, system.cache, system.checkpoints, consistency_wait=0.1)
    return (
        create_query_app(read_side, system.tokens),
        create_query_app(read_side, system.tokens, fast_path=False),
    )


@pytest.fixture
async def both(system: System) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """One request id for all, as problems quote it."""
    fast, full = _apps(system)
    same = {"X-Request-ID": "same"}
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fast), base_url="http://q", headers=same
        ) as a,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=full), base_url="http://q", headers=same
        ) as b,
    ):
        yield a, b


def _comparable(response: httpx.Response) -> tuple[int, dict[str, str], bytes]:
    return response.status_code, dict(response.headers), response.content


async def test_both_paths_answer_every_kind_of_request_alike(
    system: System, both: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    owner = await command(system.api, "POST", "/users", json=new_user_body())
    other = await command(system.api, "POST", "/users", json=new_user_body())
    gone = await command(system.api, "POST", "/users", json=new_user_body())
    uid, other_id, gone_id = owner.json()["id"], other.json()["id"], gone.json()["id"]
    task = await command(system.api, "POST", "/tasks", json={"user_id": uid, "title": "t"})
    tid = task.json()["id"]
    deleted = await command(system.api, "DELETE", f"/users/{gone_id}")
    head = int(deleted.headers["x-event-position"])
    await system.api.get(f"{API}/users/{gone_id}", headers=after(deleted))

    admin = dict(system.api.headers)
    member = bearer(system.tokens, uid)
    stranger = bearer(system.tokens, other_id)
    requests: list[Request] = [
        (f"/users/{uid}", admin),
        (f"/users/{uid}", member),
        (f"/users/{uid.upper()}", member),
        (f"/users/{uid.replace('-', '')}", member),
        (f"/users/{uid}", stranger),
        (f"/users/{gone_id}", admin),
        (f"/users/{uuid.uuid4()}", admin),
        (f"/users/{uid}", {}),
        (f"/users/{uid}", {"Authorization": "Bearer not-a-token"}),
        (f"/users/{uid}", {"Authorization": member["Authorization"].replace("Bearer", "bearer")}),
        (f"/users/{uid}", {"Authorization": member["Authorization"].replace("Bearer", "Basic")}),
        (f"/users/{uid}?limit=1", admin),
        (f"/users/{uid}", admin | {"X-Min-Position": str(head)}),
        (f"/users/{uid}", admin | {"X-Min-Position": str(head + 1_000_000)}),
        (f"/users/{uid}", admin | {"X-Min-Position": "-1"}),
        (f"/users/{uid}", admin | {"X-Min-Position": "1e3"}),
        (f"/tasks/{tid}", admin),
        (f"/tasks/{tid}", member),
        (f"/tasks/{tid}", stranger),
        (f"/tasks/{uuid.uuid4()}", member),
        (f"/tasks/{tid}", {}),
    ]
    fast, full = both
    for path, headers in requests:
        for first, second in ((fast, full), (full, fast)):  # cache missed, then hit
            answers = [
                await client.get(f"{API}{path}", headers=headers) for client in (first, second)
            ]
            assert _comparable(answers[0]) == _comparable(answers[1]), (path, headers)
    head_request = [
        await client.head(f"{API}/tasks/{tid}", headers=admin) for client in (fast, full)
    ]
    assert _comparable(head_request[0]) == _comparable(head_request[1])
    assert head_request[0].status_code == 200
    assert head_request[0].content == b""


async def test_the_fast_path_answers_without_the_routes_and_hands_on_the_rest(
    system: System,
) -> None:
    """With the routes' read-side dependency answering 418, only the fast path can
    answer 200."""
    registered = await command(system.api, "POST", "/users", json=new_user_body())
    uid = registered.json()["id"]
    await system.api.get(f"{API}/users/{uid}", headers=after(registered))
    fast, _ = _apps(system)

    async def broken() -> ReadSide:
        raise Problem(418, "the routes were asked")

    fast.dependency_overrides[_read_side] = broken
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fast),
        base_url="http://q",
        headers=system.api.headers,
    ) as client:
        answered = await client.get(f"{API}/users/{uid}")
        handed_on = await client.get(f"{API}/users/{uuid.uuid4()}")

    assert answered.status_code == 200
    assert answered.json()["id"] == uid
    assert handed_on.status_code == 418


async def test_a_store_down_while_reading_positions_is_a_503_not_a_500(
    system: System, read_store: PostgresReadStore
) -> None:
    """A query process of its own reads checkpoints from the store: when that fails, the
    fast path leaves the request to the routes, which answer 503 + Retry-After."""
    faulty = FaultyStore(read_store, delay=0)
    read_side = ReadSide(faulty, system.cache, StoreCheckpoints(faulty))
    app = create_query_app(read_side, system.tokens)
    faulty.fail_for(5)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://q",
        headers=bearer(system.tokens, uuid.uuid4(), "admin"),
    ) as client:  # fmt: skip
        answer = await client.get(f"/api/v1/users/{uuid.uuid4()}")

    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"

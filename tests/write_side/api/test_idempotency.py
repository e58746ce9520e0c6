from __future__ import annotations

import asyncio

import httpx

from tests.write_side.api.given import a_user, new_user_body, unique
from write_side.bootstrap import WriteSide

USERS = "/api/v1/users"


async def test_a_retried_post_returns_the_first_result_and_appends_nothing(
    commands: httpx.AsyncClient, write_side: WriteSide
) -> None:
    body, key = new_user_body(), {"Idempotency-Key": unique("key-")}

    first = await commands.post(USERS, json=body, headers=key)
    head = write_side.store.head()
    retry = await commands.post(USERS, json=body, headers=key)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["x-event-position"] == first.headers["x-event-position"]
    assert retry.headers["location"] == first.headers["location"]
    assert retry.headers["idempotent-replayed"] == "true"
    assert write_side.store.head() == head


async def test_a_replay_shows_the_first_result_even_after_later_changes(
    commands: httpx.AsyncClient,
) -> None:
    body, key = new_user_body(), {"Idempotency-Key": unique("key-")}
    first = await commands.post(USERS, json=body, headers=key)
    await commands.patch(f"{USERS}/{first.json()['id']}", json={"bio": "later"})

    retry = await commands.post(USERS, json=body, headers=key)

    assert retry.json() == first.json()


async def test_same_key_with_another_body_is_422(commands: httpx.AsyncClient) -> None:
    key = {"Idempotency-Key": unique("key-")}
    await commands.post(USERS, json=new_user_body(), headers=key)

    other = await commands.post(USERS, json=new_user_body(), headers=key)

    assert other.status_code == 422
    assert other.json()["type"] == "urn:tasktrail:problem:idempotency-key-reused"


async def test_concurrent_retries_with_one_key_create_one_user(
    commands: httpx.AsyncClient, write_side: WriteSide
) -> None:
    body, key = new_user_body(), {"Idempotency-Key": unique("key-")}
    head = write_side.store.head()

    responses = await asyncio.gather(
        *(commands.post(USERS, json=body, headers=key) for _ in range(10))
    )

    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert write_side.store.head() == head + 3  # the user and its two reservations


async def test_an_action_retried_with_its_key_is_not_applied_twice(
    commands: httpx.AsyncClient, write_side: WriteSide
) -> None:
    user = await a_user(commands)
    url, key = f"{USERS}/{user['id']}/deactivate", {"Idempotency-Key": unique("key-")}

    first = await commands.post(url, headers=key)
    retry = await commands.post(url, headers=key)

    assert (first.status_code, retry.status_code) == (204, 204)
    assert retry.headers["etag"] == '"2"'
    assert len(write_side.store.load(user["id"])) == 2


async def test_malformed_key_is_422(commands: httpx.AsyncClient) -> None:
    response = await commands.post(
        USERS, json=new_user_body(), headers={"Idempotency-Key": "x" * 256}
    )

    assert response.status_code == 422

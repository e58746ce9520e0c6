"""POST /auth/token: tokens for the right password, the same refusal for every wrong one,
and limits on failed attempts per account and per client address."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis

from common.settings import Settings
from common.tokens import TokenCodec
from tests.support.http import is_problem
from tests.write_side.api.given import PASSWORD, a_user
from write_side.api.app import create_command_app
from write_side.bootstrap import WriteSide
from write_side.domain.reservations import Kind
from write_side.login_limits import LoginLimiter

TOKEN = "/api/v1/auth/token"


async def login(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    """Logs in with no other credentials than the body."""
    return await client.post(TOKEN, json=body, headers={"Authorization": ""})


async def test_the_right_password_buys_a_token_naming_the_user_and_role(
    commands: httpx.AsyncClient, tokens: TokenCodec
) -> None:
    user = await a_user(commands)

    by_name = await login(commands, username=user["username"].upper(), password=PASSWORD)
    by_email = await login(commands, email=user["email"], password=PASSWORD)

    for response in (by_name, by_email):
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 900
        claims = tokens.verify(body["access_token"])
        assert (str(claims.subject), claims.role) == (user["id"], "member")


async def test_a_token_lets_its_user_change_themselves(commands: httpx.AsyncClient) -> None:
    user = await a_user(commands)
    token = (await login(commands, username=user["username"], password=PASSWORD)).json()

    response = await commands.patch(
        f"/api/v1/users/{user['id']}",
        json={"bio": "mine"},
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )

    assert response.status_code == 200, response.text


async def test_every_refusal_reads_the_same(commands: httpx.AsyncClient) -> None:
    """No user enumeration: a wrong password, an unknown user and a deactivated user
    all get one answer."""
    user = await a_user(commands)
    gone = await a_user(commands)
    assert (await commands.post(f"/api/v1/users/{gone['id']}/deactivate")).status_code == 204

    answers = [
        await login(commands, username=user["username"], password="Wrong-Password-42"),
        await login(commands, username=f"nobody{uuid.uuid4().hex[:8]}", password=PASSWORD),
        await login(commands, email=f"{uuid.uuid4().hex[:8]}@example.com", password=PASSWORD),
        await login(commands, username=gone["username"], password=PASSWORD),
    ]

    assert all(is_problem(a, 401) for a in answers), [a.text for a in answers]
    bodies = [{k: v for k, v in a.json().items() if k not in ("request_id",)} for a in answers]
    assert all(body == bodies[0] for body in bodies)
    assert all(a.headers["www-authenticate"].startswith("Bearer") for a in answers)


def test_an_unknown_login_costs_one_password_verification(write_side: WriteSide) -> None:
    """Timing tells nothing: the refusal of an unknown account does the same work."""
    calls: list[str] = []

    class Counting:
        def hash(self, password: str) -> str:
            raise AssertionError("not used here")

        def verify(self, password_hash: str, password: str) -> bool:
            calls.append(password_hash)
            return False

    users = dataclasses.replace(write_side.users, hasher=Counting())

    assert users.authenticate(Kind.USERNAME, f"nobody{uuid.uuid4().hex}", PASSWORD) is None
    assert calls == [write_side.users.dummy_hash]


@pytest.mark.parametrize(
    "body",
    [
        {"password": PASSWORD},
        {"username": "a", "email": "a@example.com", "password": PASSWORD},
        {"username": "a"},
        {"username": "a", "password": PASSWORD, "role": "admin"},
        {"username": "a" * 300, "password": PASSWORD},
    ],
)
async def test_a_malformed_login_is_a_422(commands: httpx.AsyncClient, body: Any) -> None:
    assert is_problem(await login(commands, **body), 422)


@pytest.fixture
async def strict(
    write_side: WriteSide, tokens: TokenCodec, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """A command app whose limits are small: 3 per account, 5 per address."""
    namespace = f"{settings.namespace}_limits_{uuid.uuid4().hex[:6]}"
    client = redis.Redis.from_url(settings.redis_url)
    limiter = LoginLimiter(client, namespace, per_account=3, per_address=5, window_seconds=60)
    app = create_command_app(dataclasses.replace(write_side, logins=limiter), tokens)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as api:
        yield api
    keys = list(client.scan_iter(match=f"{namespace}:*"))
    if keys:
        client.delete(*keys)
    client.close()


async def test_an_account_is_locked_after_its_failures_even_for_the_right_password(
    strict: httpx.AsyncClient,
) -> None:
    user = await a_user(strict)
    failures = [
        await login(strict, username=user["username"], password="Wrong-Password-42")
        for _ in range(3)
    ]

    locked = await login(strict, username=user["username"], password=PASSWORD)

    assert [f.status_code for f in failures] == [401, 401, 401]
    assert is_problem(locked, 429)
    assert 0 < int(locked.headers["retry-after"]) <= 60


async def test_a_correct_login_clears_the_account_count(strict: httpx.AsyncClient) -> None:
    user = await a_user(strict)
    for _ in range(2):
        await login(strict, username=user["username"], password="Wrong-Password-42")
    assert (await login(strict, username=user["username"], password=PASSWORD)).status_code == 200

    again = [
        await login(strict, username=user["username"], password="Wrong-Password-42")
        for _ in range(2)
    ]

    assert [a.status_code for a in again] == [401, 401]


async def test_an_address_is_limited_across_accounts(strict: httpx.AsyncClient) -> None:
    """Spraying one password over many accounts is stopped by the per-address count."""
    victim = await a_user(strict)
    for _ in range(5):
        await login(strict, username=f"nobody{uuid.uuid4().hex[:8]}", password=PASSWORD)

    blocked = await login(strict, username=victim["username"], password=PASSWORD)

    assert is_problem(blocked, 429)


async def test_login_is_a_503_when_the_limits_cannot_be_read(
    write_side: WriteSide, tokens: TokenCodec
) -> None:
    """Fails closed: without its counters, login would be unlimited."""
    dead = redis.Redis(port=1, socket_connect_timeout=0.2)
    limiter = LoginLimiter(dead, "x", per_account=3, per_address=5, window_seconds=60)
    app = create_command_app(dataclasses.replace(write_side, logins=limiter), tokens)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as api:
        response = await login(api, username="someone", password=PASSWORD)

    assert is_problem(response, 503)
    assert response.headers["retry-after"] == "5"

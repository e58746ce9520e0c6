"""What every request gets: request ids, problem+json, body limits, no stack traces."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import httpx

from common.settings import Settings
from common.tokens import TokenCodec
from tests.write_side.api.given import a_user, new_user_body
from write_side.api.app import create_command_app
from write_side.bootstrap import WriteSide

USERS = "/api/v1/users"


async def test_request_id_is_echoed_and_becomes_the_correlation_id(
    commands: httpx.AsyncClient, write_side: WriteSide
) -> None:
    response = await commands.post(
        USERS, json=new_user_body(), headers={"X-Request-ID": "req-42.a:b"}
    )

    assert response.headers["x-request-id"] == "req-42.a:b"
    [registered] = write_side.store.load(UUID(response.json()["id"]))
    assert registered.correlation_id == "req-42.a:b"


async def test_an_unsafe_request_id_is_replaced(commands: httpx.AsyncClient) -> None:
    response = await commands.post(USERS, json={}, headers={"X-Request-ID": "<script>" * 20})

    assert response.headers["x-request-id"] != "<script>" * 20
    assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_problems_carry_instance_and_request_id(commands: httpx.AsyncClient) -> None:
    response = await commands.post(USERS, json={})

    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert {"type", "title", "status", "detail", "instance", "request_id"} <= set(problem)
    assert (problem["status"], problem["instance"]) == (422, USERS)


async def test_unknown_route_and_wrong_method_are_problems(commands: httpx.AsyncClient) -> None:
    missing = await commands.get("/api/v1/nothing-here")
    wrong = await commands.put(USERS, json={})

    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert wrong.status_code == 405


async def test_wrong_content_type_is_422(commands: httpx.AsyncClient) -> None:
    response = await commands.post(
        USERS, content=b"email=a@b.c", headers={"content-type": "text/plain"}
    )

    assert response.status_code == 422


async def test_a_body_over_the_limit_is_413_by_length(
    commands: httpx.AsyncClient, settings: Settings
) -> None:
    response = await commands.post(
        USERS,
        content=b"{" + b" " * settings.max_body_bytes + b"}",
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["status"] == 413


async def test_a_streamed_body_over_the_limit_is_413(
    commands: httpx.AsyncClient, settings: Settings
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(settings.max_body_bytes // 65_536 + 2):
            yield b" " * 65_536

    response = await commands.post(
        USERS, content=chunks(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 413


async def test_an_unexpected_error_is_a_500_problem_without_a_trace(
    write_side: WriteSide, tokens: TokenCodec
) -> None:
    app = create_command_app(write_side, tokens)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret" not in response.text
    assert "Traceback" not in response.text


async def test_password_and_hash_never_appear_in_responses(commands: httpx.AsyncClient) -> None:
    user = await a_user(commands)
    url = f"{USERS}/{user['id']}"
    responses = [
        await commands.patch(url, json={"bio": "b"}),
        await commands.post(
            f"{url}/password",
            json={"current_password": "Sturdy-Password-42", "new_password": "Fresh-Password-9"},
        ),
        await commands.post(f"{url}/deactivate"),
        await commands.delete(url),
    ]

    for response in responses:
        text = response.text + str(response.headers)
        assert "argon2" not in text
        assert "Sturdy-Password-42" not in text
        assert "Fresh-Password-9" not in text


async def test_health(commands: httpx.AsyncClient) -> None:
    assert (await commands.get("/health")).json() == {"status": "ok"}
    assert (await commands.get("/health/ready")).json()["checks"] == {"postgres": "ok"}

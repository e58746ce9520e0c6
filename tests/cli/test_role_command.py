"""``tasktrail role``: the operator's way to make the first admin."""

from __future__ import annotations

import httpx
from typer.testing import CliRunner

from cli.main import app
from common.settings import Settings
from tests.support.http import API, is_problem
from tests.write_side.api.given import PASSWORD, a_user

runner = CliRunner()


def _env(settings: Settings) -> dict[str, str]:
    return {
        "TASKTRAIL_POSTGRES_DSN": settings.postgres_dsn,
        "TASKTRAIL_NAMESPACE": settings.namespace,
        "TASKTRAIL_ENV": "test",
    }


async def _token(commands: httpx.AsyncClient, username: str) -> str:
    answer = await commands.post(
        f"{API}/auth/token",
        json={"username": username, "password": PASSWORD},
        headers={"Authorization": ""},
    )
    token: str = answer.json()["access_token"]
    return token


async def test_a_granted_admin_logs_in_with_the_admin_role(
    commands: httpx.AsyncClient, settings: Settings
) -> None:
    user = await a_user(commands)

    result = runner.invoke(app, ["role", user["username"], "admin"], env=_env(settings))

    assert result.exit_code == 0, result.output
    assert "is now admin" in result.output
    token = await _token(commands, user["username"])
    other = await a_user(commands)
    reactivated = await commands.post(
        f"{API}/users/{other['id']}/activate", headers={"Authorization": f"Bearer {token}"}
    )
    assert is_problem(reactivated, 409)  # allowed, but the user is not inactive


async def test_the_change_names_the_operator_as_its_actor(
    commands: httpx.AsyncClient, settings: Settings
) -> None:
    user = await a_user(commands)
    runner.invoke(app, ["role", user["email"], "admin"], env=_env(settings))

    result = runner.invoke(app, ["audit", user["id"], "--json"], env=_env(settings))

    assert '"user.role_changed"' in result.output
    assert '"cli:' in result.output


def test_an_unknown_user_is_a_clear_error(settings: Settings) -> None:
    result = runner.invoke(app, ["role", "nobody-at-all", "admin"], env=_env(settings))

    assert result.exit_code == 1
    assert "no user is 'nobody-at-all'" in result.output

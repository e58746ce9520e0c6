"""``tasktrail audit`` end to end: the real CLI against the session's event store."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from common.settings import Settings
from tests.support.actors import as_admin
from tests.write_side.api.given import PASSWORD, unique
from write_side.bootstrap import WriteSide
from write_side.commands import RegisterUser, UpdateUser


@dataclass(frozen=True)
class Made:
    user_id: uuid.UUID
    register_request: str
    between: datetime
    """A moment after the registration and before the profile change."""


@pytest.fixture(scope="module")
def made(write_side: WriteSide) -> Made:
    name, user_id = unique(), uuid.uuid4()
    request = f"cli-register-{uuid.uuid4().hex[:8]}"
    register = RegisterUser(user_id, f"{name}@example.com", name, PASSWORD, bio="[old] bio")
    write_side.users.register(register, as_admin(correlation_id=request, actor="ops"))
    between = datetime.now(UTC)
    write_side.users.update(UpdateUser(user_id, bio="new bio"), as_admin("cli-profile"))
    return Made(user_id, request, between)


def run(settings: Settings, *args: str, columns: int = 220) -> Result:
    env = {"TASKTRAIL_POSTGRES_DSN": settings.postgres_dsn, "COLUMNS": str(columns)}
    return CliRunner().invoke(app, ["audit", *args], env=env)


def as_json(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = orjson.loads(result.stdout)
    return document


def test_the_table_shows_the_events_and_the_latest_state(settings: Settings, made: Made) -> None:
    result = run(settings, str(made.user_id))

    assert result.exit_code == 0, result.output
    for text in ("user.registered", "user.profile_changed", made.register_request, "cli-profile"):
        assert text in result.stdout
    assert "State as of version 2" in result.stdout
    assert "new bio" in result.stdout
    assert "argon2" not in result.output
    assert "password_hash" not in result.output


def test_a_narrow_terminal_still_shows_every_detail(settings: Settings, made: Made) -> None:
    result = run(settings, str(made.user_id), columns=80)

    assert result.exit_code == 0, result.output
    for text in ("user.profile_changed", "cli-profile", "bio=new bio", "State as of version 2"):
        assert text in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_a_version_cut_shows_the_state_then(settings: Settings, made: Made) -> None:
    result = run(settings, str(made.user_id), "--version", "1")

    assert result.exit_code == 0, result.output
    assert "State as of version 1" in result.stdout
    assert "[old] bio" in result.stdout  # brackets in data are text, not markup
    assert "user.profile_changed" not in result.stdout
    assert "now at version 2" in result.stdout


def test_json_has_the_events_up_to_the_cut_and_the_state(settings: Settings, made: Made) -> None:
    latest = as_json(run(settings, str(made.user_id), "--json"))
    first = as_json(run(settings, str(made.user_id), "--version", "1", "--json"))
    then = as_json(run(settings, str(made.user_id), "--as-of", made.between.isoformat(), "--json"))

    assert latest["stream_id"] == str(made.user_id)
    assert latest["kind"] == "user"
    assert [e["type"] for e in latest["events"]] == ["user.registered", "user.profile_changed"]
    assert latest["state"]["bio"] == "new bio"
    assert "password_hash" not in latest["state"]
    assert first["cut"] == {"version": 1, "as_of": None}
    assert len(first["events"]) == 1
    assert first["state"]["bio"] == "[old] bio"
    assert len(then["events"]) == 1
    assert then["state"]["bio"] == "[old] bio"


def test_an_unknown_stream_fails_with_exit_code_1(settings: Settings) -> None:
    stream_id = uuid.uuid4()

    result = run(settings, str(stream_id))

    assert result.exit_code == 1
    assert f"no events for stream {stream_id}" in result.stderr
    assert result.stdout == ""


def test_an_unreachable_event_store_fails_with_exit_code_1() -> None:
    env = {"TASKTRAIL_POSTGRES_DSN": "postgresql://postgres@127.0.0.1:1/nowhere"}

    result = CliRunner().invoke(app, ["audit", str(uuid.uuid4())], env=env)

    assert result.exit_code == 1
    assert "cannot open the event store" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-a-uuid"], "valid UUID"),
        ([str(uuid.uuid4()), "--as-of", "yesterday"], "not an ISO 8601 time"),
        ([str(uuid.uuid4()), "--as-of", "2025-01-01", "--version", "1"], "exclude each other"),
        ([], "STREAM_ID or --correlation-id"),
        ([str(uuid.uuid4()), "--correlation-id", "x"], "STREAM_ID or --correlation-id"),
        (["--correlation-id", "x", "--version", "1"], "not a correlation id"),
    ],
)
def test_bad_usage_fails_with_exit_code_2(
    settings: Settings, args: list[str], message: str
) -> None:
    result = run(settings, *args)

    assert result.exit_code == 2
    assert message in result.stderr


def test_correlation_lists_every_event_of_the_request(settings: Settings, made: Made) -> None:
    table = run(settings, "--correlation-id", made.register_request)
    document = as_json(run(settings, "--correlation-id", made.register_request, "--json"))

    assert table.exit_code == 0, table.output
    assert table.stdout.count("reservation.claimed") == 2
    assert str(made.user_id) in table.stdout
    assert "user.registered" in table.stdout
    assert document["correlation_id"] == made.register_request
    assert [e["type"] for e in document["events"]] == [
        "reservation.claimed",
        "reservation.claimed",
        "user.registered",
    ]
    assert b"argon2" not in orjson.dumps(document)


def test_an_unknown_correlation_id_fails_with_exit_code_1(settings: Settings) -> None:
    result = run(settings, "--correlation-id", "never-seen")

    assert result.exit_code == 1
    assert "no events with correlation id 'never-seen'" in result.stderr


def test_help_shows_examples(settings: Settings) -> None:
    result = run(settings, "--help")

    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert "tasktrail audit --correlation-id" in result.stdout
    assert "--version 2" in result.stdout

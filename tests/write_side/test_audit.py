"""Audit replay against the real event store, with history made by the real handlers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from events.tasks import Priority, TaskStatus
from tests.support.actors import as_admin
from tests.write_side.api.given import PASSWORD, unique
from write_side.audit import AuditTrail, audit_stream, events_by_correlation
from write_side.bootstrap import WriteSide
from write_side.commands import (
    CompleteTask,
    CreateTask,
    DeactivateUser,
    RegisterUser,
    UpdateTask,
    UpdateUser,
)
from write_side.domain.reservations import Kind, reservation_id
from write_side.event_store import StoreUnavailable
from write_side.executor import CommandContext
from write_side.postgres import PostgresEventStore, datastore_from_dsn

ACTOR = "ops@example.com"


@dataclass(frozen=True)
class History:
    user_id: uuid.UUID
    task_id: uuid.UUID
    email: str
    new_email: str
    username: str
    requests: dict[str, str]
    """Correlation id of each request, by what it did."""
    before: datetime
    after_register: datetime
    after_profile: datetime


@pytest.fixture(scope="module")
def history(write_side: WriteSide) -> History:
    name, run = unique(), uuid.uuid4().hex[:8]
    requests = {
        what: f"audit-{what}-{run}"
        for what in ("register", "profile", "email", "deactivate", "task")
    }

    def ctx(what: str) -> CommandContext:
        return as_admin(correlation_id=requests[what], causation_id=f"c-{what}", actor=ACTOR)

    user_id, task_id = uuid.uuid4(), uuid.uuid4()
    email, new_email = f"{name}@example.com", f"{name}.new@example.com"
    before = datetime.now(UTC)
    register = RegisterUser(user_id, email, name, PASSWORD, full_name="Ada", bio="first bio")
    write_side.users.register(register, ctx("register"))
    after_register = datetime.now(UTC)
    write_side.users.update(UpdateUser(user_id, bio="second bio"), ctx("profile"))
    after_profile = datetime.now(UTC)
    write_side.tasks.create(
        CreateTask(task_id, user_id, "Write", priority=Priority.HIGH), ctx("task")
    )
    write_side.tasks.update(UpdateTask(task_id, status=TaskStatus.IN_PROGRESS), ctx("task"))
    write_side.tasks.complete(CompleteTask(task_id), ctx("task"))
    write_side.users.update(UpdateUser(user_id, email=new_email), ctx("email"))
    write_side.users.deactivate(DeactivateUser(user_id), ctx("deactivate"))
    return History(
        user_id, task_id, email, new_email, name, requests, before, after_register, after_profile
    )


def trail_of(ws: WriteSide, stream_id: uuid.UUID, **cut: Any) -> AuditTrail:
    trail = audit_stream(ws.store, stream_id, **cut)
    assert trail is not None
    return trail


def state_of(trail: AuditTrail) -> dict[str, Any]:
    assert trail.state is not None
    return trail.state


def test_trail_lists_every_event_in_version_order_with_its_metadata(
    write_side: WriteSide, history: History
) -> None:
    trail = trail_of(write_side, history.user_id)

    assert trail.kind == "user"
    assert [e.type for e in trail.entries] == [
        "user.registered",
        "user.profile_changed",
        "user.email_changed",
        "user.deactivated",
    ]
    assert [e.version for e in trail.entries] == [1, 2, 3, 4]
    positions = [e.position for e in trail.entries]
    assert positions == sorted(set(positions))
    assert [e.correlation_id for e in trail.entries] == [
        history.requests[what] for what in ("register", "profile", "email", "deactivate")
    ]
    assert {e.actor for e in trail.entries} == {ACTOR}
    assert trail.entries[1].causation_id == "c-profile"
    assert trail.entries[2].changes == {"old_email": history.email, "email": history.new_email}
    assert trail.latest_version == 4
    assert trail.state is not None
    assert trail.state["status"] == "inactive"
    assert trail.state["email"] == history.new_email
    assert trail.state["id"] == str(history.user_id)


def test_a_version_cut_gives_the_state_after_that_many_events(
    write_side: WriteSide, history: History
) -> None:
    trail = trail_of(write_side, history.user_id, version=2)

    assert [e.version for e in trail.entries] == [1, 2]
    assert trail.state is not None
    assert trail.state["version"] == 2
    assert trail.state["bio"] == "second bio"
    assert trail.state["email"] == history.email
    assert trail.state["status"] == "active"
    assert trail.latest_version == 4


def test_a_time_cut_gives_the_state_at_that_time(write_side: WriteSide, history: History) -> None:
    at_register = trail_of(write_side, history.user_id, as_of=history.after_register)
    naive = history.after_profile.replace(tzinfo=None)  # read as UTC
    at_profile = trail_of(write_side, history.user_id, as_of=naive)

    assert [e.type for e in at_register.entries] == ["user.registered"]
    assert state_of(at_register)["bio"] == "first bio"
    assert [e.version for e in at_profile.entries] == [1, 2]
    assert state_of(at_profile)["bio"] == "second bio"


def test_a_time_before_the_first_event_gives_no_entries_and_no_state(
    write_side: WriteSide, history: History
) -> None:
    trail = trail_of(write_side, history.user_id, as_of=history.before - timedelta(seconds=1))

    assert trail.entries == []
    assert trail.state is None
    assert trail.latest_version == 4


def test_a_task_trail_replays_the_task(write_side: WriteSide, history: History) -> None:
    trail = trail_of(write_side, history.task_id)
    started = trail_of(write_side, history.task_id, version=2)

    assert trail.kind == "task"
    assert [e.type for e in trail.entries] == [
        "task.created",
        "task.status_changed",
        "task.status_changed",
    ]
    assert {e.correlation_id for e in trail.entries} == {history.requests["task"]}
    assert trail.state is not None
    assert trail.state["status"] == "done"
    assert trail.state["priority"] == "high"
    assert trail.state["user_id"] == str(history.user_id)
    assert state_of(started)["status"] == "in_progress"


def test_a_reservation_trail_shows_its_unpublished_events(
    write_side: WriteSide, history: History
) -> None:
    stream = reservation_id(Kind.EMAIL, history.email)
    trail = trail_of(write_side, stream)
    claimed = trail_of(write_side, stream, version=1)

    assert trail.kind == "reservation"
    assert [e.type for e in trail.entries] == ["reservation.claimed", "reservation.released"]
    assert state_of(trail)["owner_id"] is None
    assert state_of(claimed)["owner_id"] == str(history.user_id)


def test_an_unknown_stream_has_no_trail(write_side: WriteSide) -> None:
    assert audit_stream(write_side.store, uuid.uuid4()) is None


def test_an_unreachable_store_is_unavailable(write_side: WriteSide) -> None:
    codec, settings = write_side.store.codec, write_side.settings
    store = PostgresEventStore(
        datastore_from_dsn(
            settings.postgres_dsn, pool_size=1, max_overflow=0, timeout=1, lock_timeout=1
        ),
        codec,
    )
    store.close()

    with pytest.raises(StoreUnavailable):
        events_by_correlation(store, "any")
    with pytest.raises(StoreUnavailable):
        audit_stream(store, uuid.uuid4())


def test_a_cut_is_a_time_or_a_version_not_both(write_side: WriteSide, history: History) -> None:
    with pytest.raises(ValueError, match="not both"):
        audit_stream(write_side.store, history.user_id, as_of=datetime.now(UTC), version=1)
    with pytest.raises(ValueError, match="start at 1"):
        audit_stream(write_side.store, history.user_id, version=0)


def test_no_password_hash_appears_anywhere_in_a_trail(
    write_side: WriteSide, history: History
) -> None:
    documents = [
        orjson.dumps(trail_of(write_side, history.user_id)),
        orjson.dumps(trail_of(write_side, history.user_id, version=1)),
        orjson.dumps(events_by_correlation(write_side.store, history.requests["register"])),
    ]

    for document in documents:
        assert b"argon2" not in document
        assert b"password_hash" not in document


def test_correlation_finds_every_event_of_one_request_across_streams(
    write_side: WriteSide, history: History
) -> None:
    entries = events_by_correlation(write_side.store, history.requests["register"])

    assert {(e.stream_id, e.type) for e in entries} == {
        (reservation_id(Kind.EMAIL, history.email), "reservation.claimed"),
        (reservation_id(Kind.USERNAME, history.username), "reservation.claimed"),
        (history.user_id, "user.registered"),
    }
    assert len(entries) == 3
    assert [e.position for e in entries] == sorted(e.position for e in entries)
    assert {e.correlation_id for e in entries} == {history.requests["register"]}


def test_correlation_covers_a_request_that_moved_a_reservation(
    write_side: WriteSide, history: History
) -> None:
    entries = events_by_correlation(write_side.store, history.requests["email"])

    assert [(e.stream_id, e.type) for e in entries] == [
        (reservation_id(Kind.EMAIL, history.new_email), "reservation.claimed"),
        (reservation_id(Kind.EMAIL, history.email), "reservation.released"),
        (history.user_id, "user.email_changed"),
    ]


def test_correlation_honours_the_limit_and_unknown_ids(
    write_side: WriteSide, history: History
) -> None:
    first_two = events_by_correlation(write_side.store, history.requests["register"], limit=2)
    everything = events_by_correlation(write_side.store, history.requests["register"])

    assert first_two == everything[:2]
    assert events_by_correlation(write_side.store, f"unknown-{uuid.uuid4()}") == []


def test_correlation_survives_an_event_holding_a_nul_character(write_side: WriteSide) -> None:
    """PostgreSQL text cannot hold \\u0000, so parsing every row as jsonb failed for the
    whole table once one title held it (schemathesis sent one)."""
    owner = uuid.uuid4()
    name = unique()
    write_side.users.register(
        RegisterUser(owner, f"{name}@example.com", name, PASSWORD), as_admin("nul-owner")
    )
    request = f"nul-{uuid.uuid4().hex}"
    task = uuid.uuid4()
    write_side.tasks.create(
        CreateTask(task, owner, "nul \x00 inside", None, Priority.LOW, None), as_admin(request)
    )

    found = events_by_correlation(write_side.store, request)

    assert [(e.stream_id, e.type) for e in found] == [(task, "task.created")]

"""Interleavings of the command executor, forced deterministically on the real store, and
its cache of read streams shared with another process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.actors import as_admin
from tests.write_side.api.given import PASSWORD, unique
from write_side.bootstrap import WriteSide, bootstrap
from write_side.commands import CreateTask, DeactivateUser, ReactivateUser, RegisterUser
from write_side.domain import users
from write_side.domain.errors import OwnerUnavailable
from write_side.domain.reservations import Kind
from write_side.domain.users import User
from write_side.executor import Transaction
from write_side.handlers import reservations


def test_a_refusal_caused_by_a_sibling_with_the_same_key_replays_the_sibling(
    write_side: WriteSide,
) -> None:
    name = unique()
    context = as_admin(idempotency_key=unique("key-"), fingerprint="same request")
    sibling = RegisterUser(uuid.uuid4(), f"{name}@example.com", name, PASSWORD)
    calls = 0

    def decide(tx: Transaction) -> User:
        nonlocal calls
        calls += 1
        if calls == 1:  # the sibling commits after our idempotency check, before our decision
            write_side.users.register(sibling, context)
        reservations.claim(tx, Kind.EMAIL, sibling.email, uuid.uuid4())  # refused: taken
        raise AssertionError("unreachable: the email is taken")

    executed = write_side.users.executor.run(decide, context, users.replay)

    assert executed.replayed
    assert executed.result.id == sibling.user_id


@pytest.fixture
def other_process(write_side: WriteSide) -> Iterator[WriteSide]:
    """A second command server on the same event store, with a cache of its own."""
    other = bootstrap(write_side.settings)
    yield other
    other.close()


def registered(ws: WriteSide) -> uuid.UUID:
    user_id, name = uuid.uuid4(), unique()
    ws.users.register(RegisterUser(user_id, f"{name}@example.com", name, PASSWORD), as_admin())
    return user_id


def test_a_task_is_not_created_for_an_owner_deactivated_elsewhere_since_it_was_cached(
    write_side: WriteSide, other_process: WriteSide
) -> None:
    owner = registered(write_side)
    write_side.tasks.create(CreateTask(uuid.uuid4(), owner, "caches the owner"), as_admin())
    deactivated = other_process.users.deactivate(DeactivateUser(owner), as_admin()).position

    with pytest.raises(OwnerUnavailable):
        write_side.tasks.create(CreateTask(uuid.uuid4(), owner, "too late"), as_admin())

    since = write_side.store.read_all(deactivated, 1000)
    assert [e for e in since if e.type_name == "task.created" and e.event.user_id == owner] == []


def test_a_task_refused_on_a_cached_owner_is_decided_again_on_a_fresh_one(
    write_side: WriteSide, other_process: WriteSide
) -> None:
    owner = registered(write_side)
    write_side.tasks.create(CreateTask(uuid.uuid4(), owner, "caches the owner"), as_admin())
    other_process.users.deactivate(DeactivateUser(owner), as_admin())
    with pytest.raises(OwnerUnavailable):  # and caches the owner as deactivated
        write_side.tasks.create(CreateTask(uuid.uuid4(), owner, "refused"), as_admin())
    other_process.users.reactivate(ReactivateUser(owner), as_admin())

    executed = write_side.tasks.create(CreateTask(uuid.uuid4(), owner, "welcome back"), as_admin())

    assert executed.result.title == "welcome back"


def test_a_command_that_writes_a_stream_forgets_the_kept_copy(write_side: WriteSide) -> None:
    owner = registered(write_side)
    write_side.tasks.create(CreateTask(uuid.uuid4(), owner, "caches the owner"), as_admin())
    cache = write_side.tasks.executor.cache
    assert cache is not None
    assert cache.get(owner) is not None

    write_side.users.deactivate(DeactivateUser(owner), as_admin())

    assert cache.get(owner) is None


def test_deciding_again_on_fresh_streams_is_not_an_attempt(write_side: WriteSide) -> None:
    """With one attempt, a refusal on a kept owner is still told as the refusal, not as
    contention (409)."""
    one_attempt = bootstrap(write_side.settings.model_copy(update={"command_attempts": 1}))
    try:
        owner = registered(one_attempt)
        one_attempt.users.deactivate(DeactivateUser(owner), as_admin())
        for _ in range(3):  # the first loads and keeps the owner; the others find it kept
            with pytest.raises(OwnerUnavailable):
                one_attempt.tasks.create(CreateTask(uuid.uuid4(), owner, "no"), as_admin())
    finally:
        one_attempt.close()

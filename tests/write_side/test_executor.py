"""Interleavings of the command executor, forced deterministically on the real store."""

from __future__ import annotations

import uuid

from tests.support.actors import as_admin
from tests.write_side.api.given import PASSWORD, unique
from write_side.bootstrap import WriteSide
from write_side.commands import RegisterUser
from write_side.domain import users
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

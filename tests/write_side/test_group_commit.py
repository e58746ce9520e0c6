"""Group commit against the real event store: commands that arrive while an append
is under way share the next transaction, and a conflict fails only its own command."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest

from events.envelope import Envelope
from tests.write_side.test_postgres import a_task_created, envelope
from write_side.bootstrap import WriteSide
from write_side.event_store import (
    Append,
    ConcurrencyConflict,
    IdempotencyKeyTaken,
    IdempotencyRecord,
    ReadStreamMoved,
    StoreUnavailable,
)
from write_side.group_commit import GroupCommit
from write_side.postgres import PostgresEventStore

Batch = Sequence[Append]


class Held:
    """The real store, whose first append waits until ``release`` says go: so the
    commands sent meanwhile all queue behind it, deterministically."""

    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store
        self.go = threading.Event()
        self.transactions: list[int] = []

    def append(self, envelopes: Sequence[Envelope[Any]], **kwargs: Any) -> list[int]:
        self.go.wait(10)
        self.transactions.append(1)
        return self.store.append(envelopes, **kwargs)

    def append_many(self, commands: Batch) -> list[list[int]]:
        self.transactions.append(len(commands))
        return self.store.append_many(commands)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def run_together(
    group: GroupCommit, held: Held, appends: list[Callable[[], list[int]]]
) -> list[list[int] | BaseException]:
    """Starts every append; once all but the first are queued, lets the first go."""

    def outcome(append: Callable[[], list[int]]) -> list[int] | BaseException:
        try:
            return append()
        except Exception as error:
            return error

    with ThreadPoolExecutor(len(appends)) as pool:
        first = pool.submit(outcome, appends[0])
        time.sleep(0.05)
        rest = [pool.submit(outcome, a) for a in appends[1:]]
        deadline = time.monotonic() + 10
        while len(group._queued) < len(appends) - 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        held.go.set()
        return [first.result(), *(f.result() for f in rest)]


@pytest.fixture
def held(write_side: WriteSide) -> Held:
    return Held(write_side.store)


def one_event(stream: uuid.UUID | None = None, version: int = 1) -> list[Envelope[Any]]:
    return [envelope(a_task_created(), stream or uuid.uuid4(), version)]


def test_commands_queued_behind_an_append_share_one_transaction(held: Held) -> None:
    group = GroupCommit(held)
    batches = [one_event() + one_event() for _ in range(20)]

    results = run_together(group, held, [partial(group.append, b) for b in batches])

    assert held.transactions == [1, 19]
    positions = [p for r in results if isinstance(r, list) for p in r]
    assert len(set(positions)) == 40
    for batch, got in zip(batches, results, strict=True):
        assert [e.stream_id for e in held.store.load(batch[0].stream_id)] == [batch[0].stream_id]
        assert isinstance(got, list)
        assert got[1] == got[0] + 1  # a command's events stay adjacent


def test_a_conflict_fails_only_the_command_that_lost(held: Held) -> None:
    group = GroupCommit(held)
    contested = uuid.uuid4()
    held.store.append(one_event(contested, 1))
    appends = [lambda: group.append(one_event())]
    appends += [lambda: group.append(one_event(contested, 2)) for _ in range(2)]
    appends += [lambda: group.append(one_event()) for _ in range(5)]

    results = run_together(group, held, appends)

    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1
    assert isinstance(errors[0], ConcurrencyConflict)
    assert held.transactions == [1, 7, 1, 1, 1, 1, 1, 1, 1]  # the group, then one by one
    assert len(held.store.load(contested)) == 2


def test_idempotency_records_point_at_their_own_commands(held: Held) -> None:
    group = GroupCommit(held)
    keys = [f"group-{uuid.uuid4().hex}" for _ in range(6)]
    batches = [one_event() + one_event() for _ in keys]

    def append(key: str, batch: list[Envelope[Any]]) -> list[int]:
        record = IdempotencyRecord(key, "fp", batch[-1].stream_id, 1)
        return group.append(batch, idempotency=record)

    results = run_together(
        group, held, [partial(append, k, b) for k, b in zip(keys, batches, strict=True)]
    )

    for key, got in zip(keys, results, strict=True):
        found = held.store.find_idempotency(key)
        assert found is not None
        assert isinstance(got, list)
        assert found.position == got[-1]


def test_one_key_twice_in_a_group_stores_it_once(held: Held) -> None:
    group = GroupCommit(held)
    key = f"twice-{uuid.uuid4().hex}"

    def append() -> list[int]:
        batch = one_event()
        return group.append(batch, idempotency=IdempotencyRecord(key, "fp", batch[0].stream_id, 1))

    results = run_together(group, held, [lambda: group.append(one_event()), append, append])

    assert [type(r) for r in results].count(IdempotencyKeyTaken) == 1


def test_an_outage_fails_the_whole_group(held: Held) -> None:
    class Down(Held):
        def append_many(self, commands: Batch) -> list[list[int]]:
            raise StoreUnavailable("down")

    down = Down(held.store)
    group = GroupCommit(down)

    results = run_together(group, down, [lambda: group.append(one_event()) for _ in range(4)])

    assert isinstance(results[0], list)
    assert all(isinstance(r, StoreUnavailable) for r in results[1:])
    assert group._leading is False


def test_a_command_whose_read_stream_another_in_its_group_moves_is_refused(held: Held) -> None:
    """B decided on the owner at version 1; A, ahead of it in the group, moves the owner on."""
    group = GroupCommit(held)
    owner = uuid.uuid4()
    held.store.append(one_event(owner, 1))
    appends = [
        lambda: group.append(one_event()),  # the leader, held while the others queue
        lambda: group.append(one_event(owner, 2)),
        lambda: group.append(one_event(), reads={owner: 1}),
    ]

    results = run_together(group, held, appends)

    assert isinstance(results[1], list)
    assert isinstance(results[2], ReadStreamMoved)
    assert held.transactions == [1, 2, 1, 1]  # the group, then one by one

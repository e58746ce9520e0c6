"""Stored events for the benchmarks that need many: appended straight to the event store.

Going through the store's own append (in big batches, no command handling)
keeps the events decodable by tasktrail's codec while seeding a million in
about a minute and a half.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from common.settings import Settings
from events.activity import ActivityTracked
from events.envelope import Envelope
from events.tasks import Priority, TaskCreated, TaskDetailsChanged, TaskStatus, TaskStatusChanged
from events.users import UserProfileChanged, UserRegistered
from write_side.bootstrap import WriteSide, bootstrap
from write_side.postgres import PostgresEventStore

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PER_USER = 20
"""Events per user in the mix of seed(): registration, profile, 3 tasks x 4, 6 activities."""


def seed(store: PostgresEventStore, total: int, *, batch: int = 5000) -> int:
    """Appends at least ``total`` events, a mix of users, tasks moving through their
    statuses and tracked activity; returns how many (a multiple of PER_USER)."""
    now = datetime.now(UTC)
    pending: list[Envelope[Any]] = []

    def add(event: Any, stream: uuid.UUID, version: int) -> None:
        pending.append(Envelope(event, uuid.uuid4(), stream, version, now, "bench", None, None))

    written = 0
    while written + len(pending) < total:
        user = uuid.uuid4()
        name = user.hex[:12]
        add(UserRegistered(email=f"{name}@example.com", username=name, password_hash="x"), user, 1)
        add(UserProfileChanged(full_name="Bench", bio="b"), user, 2)
        for _ in range(3):
            task = uuid.uuid4()
            add(TaskCreated(user_id=user, title="t"), task, 1)
            details = TaskDetailsChanged(
                title="u", description=None, priority=Priority.HIGH, due_date=None
            )
            add(details, task, 2)
            add(TaskStatusChanged(from_status=TaskStatus.TODO, to_status=TaskStatus.IN_PROGRESS),
                task, 3)  # fmt: skip
            add(TaskStatusChanged(from_status=TaskStatus.IN_PROGRESS, to_status=TaskStatus.DONE),
                task, 4)  # fmt: skip
        for n in range(6):
            event = ActivityTracked(event_type="ui", event_name=f"e{n % 3}", user_id=user)
            add(event, uuid.uuid4(), 1)
        if len(pending) >= batch:
            store.append(pending)
            written += len(pending)
            pending = []
    if pending:
        store.append(pending)
        written += len(pending)
    return written


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class Corpus:
    """One database of seeded events shared by the benchmarks that only read or append
    to it (B6, B8), grown on demand so that a run seeds a million events once."""

    name: str
    seeding_seconds: float = 0.0
    _write_side: WriteSide | None = field(default=None, repr=False)

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:5432/{self.name}"

    @property
    def write_side(self) -> WriteSide:
        if self._write_side is None:
            settings = Settings(postgres_dsn=self.dsn, namespace=self.name, log_level="WARNING")
            self._write_side = bootstrap(settings)
        return self._write_side

    def grow_to(self, events: int) -> int:
        """Seeds until the store holds at least ``events``; returns the head position."""
        store = self.write_side.store
        head = store.head()
        if head < events:
            started = time.perf_counter()
            seed(store, events - head)
            self.seeding_seconds += time.perf_counter() - started
            head = store.head()
        return head

    def close(self) -> None:
        if self._write_side is not None:
            self._write_side.close()
            drop_database(self.name)

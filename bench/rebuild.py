"""Rebuild rate of each projection over N stored events, in-process read store.

Baseline in the same run: a raw scan of the event table, decoding included
(read in batches and turned into published events), i.e. the cost of reading
alone. Events are appended straight through the event store adapter: a mix of
users, tasks moving through their statuses, and tracked activity.

    .venv/bin/python bench/rebuild.py [--events 100000] [--batch-size 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg

from common.settings import Settings
from events.activity import ActivityTracked
from events.catalog import default_registry
from events.codec import EventCodec
from events.envelope import Envelope
from events.tasks import Priority, TaskCreated, TaskDetailsChanged, TaskStatus, TaskStatusChanged
from events.users import UserProfileChanged, UserRegistered
from projections.catalog import NAMES, projector_factory
from projections.ports import NoCache
from projections.rebuild import Rebuild
from read_side.memory import MemoryReadStore
from write_side.bootstrap import bootstrap
from write_side.event_log import PublishedLog
from write_side.postgres import PostgresEventStore

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def seed(store: PostgresEventStore, total: int) -> None:
    """Per user: registration, a profile change, 3 tasks x 4 events, 6 activities = 20."""
    now = datetime.now(UTC)
    batch: list[Envelope[Any]] = []

    def add(event: Any, stream: uuid.UUID, version: int) -> None:
        batch.append(Envelope(event, uuid.uuid4(), stream, version, now, "bench", None, None))

    written = 0
    while written < total:
        user = uuid.uuid4()
        name = user.hex[:12]
        add(UserRegistered(email=f"{name}@example.com", username=name, password_hash="x"), user, 1)
        add(UserProfileChanged(full_name="Bench", bio="b"), user, 2)
        for _ in range(3):
            task = uuid.uuid4()
            add(TaskCreated(user_id=user, title="t"), task, 1)
            add(
                TaskDetailsChanged(
                    title="u", description=None, priority=Priority.HIGH, due_date=None
                ),
                task,
                2,
            )
            add(
                TaskStatusChanged(from_status=TaskStatus.TODO, to_status=TaskStatus.IN_PROGRESS),
                task,
                3,
            )
            add(
                TaskStatusChanged(from_status=TaskStatus.IN_PROGRESS, to_status=TaskStatus.DONE),
                task,
                4,
            )
        for n in range(6):
            add(
                ActivityTracked(event_type="ui", event_name=f"e{n % 3}", user_id=user),
                uuid.uuid4(),
                1,
            )
        if len(batch) >= 2000:
            store.append(batch)
            written += len(batch)
            batch = []
    if batch:
        store.append(batch)


async def scan(log: PublishedLog, batch_size: int) -> int:
    position, count = 0, 0
    while True:
        events, after = await log.read_all(position, batch_size)
        if after == position:
            return count
        count += len(events)
        position = after


async def measure(store: PostgresEventStore, batch_size: int) -> None:
    log = PublishedLog(store, EventCodec(default_registry()))
    started = time.perf_counter()
    scanned = await scan(log, batch_size)
    scan_rate = scanned / (time.perf_counter() - started)
    print(f"{'baseline: raw scan + decode':<32}{scanned:>9,} events {scan_rate:>10,.0f} events/s")
    for name in NAMES:
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rebuild = Rebuild(
            name, projector_factory(name, NoCache()), MemoryReadStore(f"bench_{name}"), log,
            batch_size=batch_size, switch_timeout=0, grace_seconds=0,
        )  # fmt: skip
        report = await rebuild.run()
        rate = report.events_per_second
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        print(
            f"{'rebuild ' + name:<32}{report.events:>9,} events {rate:>10,.0f} events/s"
            f"   {rate / scan_rate:>5.0%} of baseline   peak RSS +{grown:,.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    name = f"bench_rebuild_{uuid.uuid4().hex[:8]}"
    settings = Settings(
        postgres_dsn=f"postgresql://postgres@127.0.0.1:5432/{name}", log_level="WARNING"
    )
    write_side = bootstrap(settings)
    try:
        started = time.perf_counter()
        seed(write_side.store, args.events)
        print(f"seeded {write_side.store.head():,} events in {time.perf_counter() - started:.1f} s")
        asyncio.run(measure(write_side.store, args.batch_size))
    finally:
        write_side.close()
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()

"""The group append, ours vs the `eventsourcing` library's, in the same run.

Both take the EXCLUSIVE table lock, NOTIFY and insert the same events; ours sends
the whole transaction in one pipelined round trip with unnest() arrays
(write_side/postgres.py), the library's holds the lock across several round
trips and dumps a composite array in Python. Threads append groups of commands
at once, as concurrent command processes would; the figure is commands/s.

    .venv/bin/python -m bench.append [--threads 4] [--groups 100] [--group-size 20]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

from bench.corpus import drop_database
from common.settings import Settings
from events.envelope import Envelope
from events.tasks import TaskCreated
from write_side.bootstrap import bootstrap
from write_side.event_store import Append
from write_side.postgres import PostgresEventStore

Group = list[list[Envelope[Any]]]


def groups(count: int, size: int) -> list[Group]:
    now = datetime.now(UTC)
    return [
        [
            [
                Envelope(
                    TaskCreated(user_id=uuid.uuid4(), title="t"),
                    uuid.uuid4(),
                    uuid.uuid4(),
                    1,
                    now,
                    "bench",
                    None,
                    None,
                )
            ]
            for _ in range(size)
        ]
        for _ in range(count)
    ]


def ours(store: PostgresEventStore) -> Callable[[Group], None]:
    def append(group: Group) -> None:
        store.append_many([Append(envelopes) for envelopes in group])

    return append


def library(store: PostgresEventStore) -> Callable[[Group], None]:
    insert = PostgresApplicationRecorder.insert_events.__wrapped__  # no retry decorator

    def append(group: Group) -> None:
        stored = [
            StoredEvent(e.stream_id, e.stream_version, e.type_name, store.codec.encode(e))
            for envelopes in group
            for e in envelopes
        ]
        insert(store.recorder, stored)

    return append


def measure(append: Callable[[Group], None], work: list[list[Group]]) -> tuple[float, float]:
    """(commands/s, median ms per group) with one thread per share of ``work``."""
    took: list[float] = []

    def run(share: list[Group]) -> None:
        for group in share:
            started = time.perf_counter()
            append(group)
            took.append(time.perf_counter() - started)

    threads = [threading.Thread(target=run, args=(share,)) for share in work]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    commands = sum(len(group) for share in work for group in share)
    return commands / seconds, statistics.median(took) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--groups", type=int, default=100, help="per thread and run")
    parser.add_argument("--group-size", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    name = f"bench_append_{uuid.uuid4().hex[:8]}"
    settings = Settings(postgres_dsn=f"postgresql://postgres@127.0.0.1:5432/{name}",
                        log_level="WARNING", pg_pool_size=args.threads)  # fmt: skip
    write_side = bootstrap(settings)
    store = write_side.store
    assert isinstance(store, PostgresEventStore)
    try:
        results: dict[str, list[tuple[float, float]]] = {"ours": [], "library": []}
        for _ in range(args.repeat):  # alternated, so that drift weighs on both
            for label, append in (("library", library(store)), ("ours", ours(store))):
                work = [groups(args.groups, args.group_size) for _ in range(args.threads)]
                results[label].append(measure(append, work))
        rate = {k: statistics.median(r for r, _ in v) for k, v in results.items()}
        group_ms = {k: statistics.median(ms for _, ms in v) for k, v in results.items()}
        print(f"{args.threads} threads appending groups of {args.group_size} commands, "
              f"median of {args.repeat}:")  # fmt: skip
        for label in ("library", "ours"):
            print(f"  {label:<8} {rate[label]:>9,.0f} commands/s   "
                  f"{group_ms[label]:6.2f} ms per group")  # fmt: skip
        print(f"  ours / library: {rate['ours'] / rate['library']:.2f}x")
    finally:
        write_side.close()
        drop_database(name)


if __name__ == "__main__":
    main()

"""B8: does appending slow down as the event store grows?

The same command (create a task, through the write side's command executor in
this process: load the owner, decide, append under the table lock, commit) is
timed one at a time against a small store and against the shared corpus at
the large size (B6's). The two alternate in short chunks, so that whatever
else loads the machine meanwhile weighs on both alike.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime

from bench.corpus import Corpus
from bench.lag import percentile
from bench.rows import Context, Latency, Row
from events.envelope import Envelope
from events.users import UserRegistered
from write_side.bootstrap import WriteSide
from write_side.commands import CreateTask
from write_side.executor import CommandContext

WARM_UP = 50
CHUNK = 100
"""Appends in a row at one size before switching to the other."""


def owner(write_side: WriteSide) -> uuid.UUID:
    """A registered user, appended directly (no password hashing)."""
    user = uuid.uuid4()
    name = user.hex[:16]
    event = UserRegistered(email=f"{name}@example.com", username=name, password_hash="x")
    write_side.store.append([Envelope(event, uuid.uuid4(), user, 1, datetime.now(UTC))])
    return user


def acting_as(user: uuid.UUID) -> CommandContext:
    """The owner as the command's caller, where the write side checks callers."""
    try:
        from write_side.domain.access import Principal
    except ImportError:  # a write side without callers
        return CommandContext(actor="bench")
    return CommandContext(actor="bench", principal=Principal(user))


class Appender:
    """Creates tasks for one owner in one store, timing each."""

    def __init__(self, corpus: Corpus) -> None:
        self.write_side = corpus.write_side
        self.user = owner(self.write_side)
        self.context = acting_as(self.user)
        self.timings: list[float] = []
        self.run(WARM_UP)
        self.timings.clear()

    def run(self, n: int) -> None:
        for _ in range(n):
            command = CreateTask(task_id=uuid.uuid4(), user_id=self.user, title="bench")
            started = time.perf_counter()
            self.write_side.tasks.create(command, self.context)
            self.timings.append((time.perf_counter() - started) * 1000)


def b8(ctx: Context) -> list[Row]:
    """Append latency (CreateTask, in-process executor) at a small and a large store."""
    small_corpus = Corpus(f"{ctx.settings.namespace}_small")
    try:
        small_head = small_corpus.grow_to(ctx.args.events_b8)
        large_head = ctx.corpus.grow_to(ctx.args.events_b6)
        p99s: dict[str, list[float]] = {"small": [], "large": []}
        p50s: dict[str, list[float]] = {"small": [], "large": []}
        for _ in range(ctx.args.repeat):
            small, large = Appender(small_corpus), Appender(ctx.corpus)
            for done in range(0, ctx.args.appends_b8, CHUNK):
                n = min(CHUNK, ctx.args.appends_b8 - done)
                small.run(n)
                large.run(n)
            for size, appender in (("small", small), ("large", large)):
                p50s[size].append(statistics.median(appender.timings))
                p99s[size].append(percentile(appender.timings, 99))
            print(f"  p99 {p99s['small'][-1]:.2f} ms at {small_head:,}, "
                  f"{p99s['large'][-1]:.2f} ms at {large_head:,}")  # fmt: skip
    finally:
        small_corpus.close()
    p50 = {size: statistics.median(values) for size, values in p50s.items()}
    p99 = {size: statistics.median(values) for size, values in p99s.items()}
    ctx.latencies += [
        Latency(f"B8 CreateTask at {small_head:,} stored", p50["small"], p99["small"]),
        Latency(f"B8 CreateTask at {large_head:,} stored", p50["large"], p99["large"]),
    ]
    return [
        Row("B8", f"CreateTask p99 ms at {large_head:,} stored vs at {small_head:,}",
            p99["large"], p99["small"], "<= 1.2x", p99["large"] <= 1.2 * p99["small"]),
        Row("B8", f"CreateTask p50 ms at {large_head:,} stored vs at {small_head:,} (info)",
            p50["large"], p50["small"], "-", True),
    ]  # fmt: skip

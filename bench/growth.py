"""B8: does appending slow down as the event store grows?

The same command (create a task, through the write side's command executor in
this process: load the owner, decide, append under the table lock, commit) is
timed one at a time at a small store and again once the shared corpus holds the
large size (B6's), which this benchmark grows so that B6 need not seed again.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime

from bench.lag import percentile
from bench.rows import Context, Latency, Row
from events.envelope import Envelope
from events.users import UserRegistered
from write_side.bootstrap import WriteSide
from write_side.commands import CreateTask
from write_side.executor import CommandContext

WARM_UP = 50


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
    return CommandContext(actor="bench", principal=Principal(user))  # type: ignore[call-arg]


def append_latencies(write_side: WriteSide, user: uuid.UUID, n: int) -> list[float]:
    """Milliseconds per CreateTask, sequential, after a short warm-up."""
    context, timings = acting_as(user), []
    for i in range(WARM_UP + n):
        command = CreateTask(task_id=uuid.uuid4(), user_id=user, title=f"bench {i}")
        started = time.perf_counter()
        write_side.tasks.create(command, context)
        if i >= WARM_UP:
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def at_size(ctx: Context, events: int) -> tuple[int, float, float]:
    """(stored events, median p50, median p99) over --repeat runs at ``events`` stored."""
    head = ctx.corpus.grow_to(events)
    write_side = ctx.corpus.write_side
    user = owner(write_side)
    p50s, p99s = [], []
    for _ in range(ctx.args.repeat):
        timings = append_latencies(write_side, user, ctx.args.appends_b8)
        p50s.append(statistics.median(timings))
        p99s.append(percentile(timings, 99))
    p50, p99 = statistics.median(p50s), statistics.median(p99s)
    print(f"  at {head:,} stored: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    return head, p50, p99


def b8(ctx: Context) -> list[Row]:
    """Append latency (CreateTask, in-process executor) at a small and a large store."""
    small, small_p50, small_p99 = at_size(ctx, ctx.args.events_b8)
    large, large_p50, large_p99 = at_size(ctx, ctx.args.events_b6)
    ctx.latencies += [
        Latency(f"B8 CreateTask at {small:,} stored", small_p50, small_p99),
        Latency(f"B8 CreateTask at {large:,} stored", large_p50, large_p99),
    ]
    return [
        Row("B8", f"CreateTask p99 ms at {large:,} stored vs at {small:,}", large_p99,
            small_p99, "<= 1.2x", large_p99 <= 1.2 * small_p99),
    ]  # fmt: skip

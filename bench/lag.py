"""B5: commit -> query-visible lag of `tasktrail serve` under a steady open-loop load.

Commands (half POST /tasks, half PATCH /tasks/{id}) start on a fixed schedule,
whether or not earlier ones have answered, so a slow server cannot slow the
load down and hide its own lag. As each command answers, a GET of its task
with X-Min-Position at the command's X-Event-Position follows at once: the
server holds it until the read model has applied that position, so the time
from the command's response to the GET's 200 is the lag a client sees.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from dataclasses import dataclass, field

import httpx

from bench.clients import client, register_many
from bench.clients import percentile as percentile  # bench/growth.py imports it from here
from bench.rows import Context, Latency, Row, Series
from bench.servers import server

PORT = 8817


@dataclass
class Tally:
    lags_ms: list[float] = field(default_factory=list)
    commands_ms: list[float] = field(default_factory=list)
    late_ms: list[float] = field(default_factory=list)
    """How far behind its schedule each command started: the client's own backlog."""
    done_at: list[float] = field(default_factory=list)
    errors: int = 0
    tasks: list[str] = field(default_factory=list)


def b5_rate(ctx: Context) -> tuple[float, str]:
    """Half of B1's measured req/s when B1 ran in this run, else --rate-b5."""
    b1 = [s.values for s in ctx.series if s.label == "B1 POST /tasks" and s.values]
    if b1:
        return statistics.median(b1[0]) / 2, "half of B1"
    return float(ctx.args.rate_b5), "--rate-b5"


async def _command(api: httpx.AsyncClient, i: int, users: list[str], tally: Tally) -> None:
    """One command, then its read-your-writes GET; failures count, never raise."""
    title, create = f"b5 {i}", i % 2 == 0 or not tally.tasks
    sent = time.perf_counter()
    try:
        if create:
            answer = await api.post("/api/v1/tasks", json={"user_id": random.choice(users),
                                                           "title": title})  # fmt: skip
        else:
            answer = await api.patch(f"/api/v1/tasks/{random.choice(tally.tasks)}",
                                     json={"title": title})  # fmt: skip
        committed = time.perf_counter()
        if answer.status_code not in (200, 201):
            tally.errors += 1
            return
        task = answer.json()["id"]
        position = {"X-Min-Position": answer.headers["x-event-position"]}
        seen = await api.get(f"/api/v1/tasks/{task}", headers=position)
        visible = time.perf_counter()
    except httpx.HTTPError:
        tally.errors += 1
        return
    if seen.status_code != 200:
        tally.errors += 1
        return
    if create:  # a PATCHed task's title may have moved on since, through another PATCH
        if seen.json()["title"] != title:
            tally.errors += 1  # stale: X-Min-Position did not hold
            return
        tally.tasks.append(task)
    tally.commands_ms.append((committed - sent) * 1000)
    tally.lags_ms.append((visible - committed) * 1000)
    tally.done_at.append(visible)


async def _open_loop(base: str, rate: float, seconds: int) -> tuple[Tally, float]:
    tally = Tally()
    async with client(base) as api:
        users = await register_many(api, 20)
        for i in range(50):  # tasks to PATCH from the first second; warms the server up
            await _command(api, i * 2, users, tally)
        tally = Tally(tasks=tally.tasks)
        running: set[asyncio.Task[None]] = set()
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            due = start + i / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            tally.late_ms.append(max(0.0, time.perf_counter() - due) * 1000)
            task = asyncio.create_task(_command(api, i, users, tally))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running)
    return tally, start


def b5(ctx: Context) -> list[Row]:
    """Projection lag at half of B1's max rate: command answered -> GET X-Min-Position 200."""
    rate, source = b5_rate(ctx)
    seconds = ctx.args.seconds_b5
    with server(["cli", "serve", "--port", str(PORT)], port=PORT, ready="/health",
                env=ctx.env) as base:  # fmt: skip
        tally, start = asyncio.run(_open_loop(base, rate, seconds))
    p50, p99 = percentile(tally.lags_ms, 50), percentile(tally.lags_ms, 99)
    took = max([seconds, *(at - start for at in tally.done_at)])
    achieved = len(tally.lags_ms) / took  # a backlog stretches the run past its schedule
    per_second = [0.0] * (int(took) + 1)
    for at in tally.done_at:
        per_second[int(at - start)] += 1
    ctx.series.append(Series("B5 commands visible per second", "second", "req/s", per_second))
    ctx.latencies.append(Latency("B5 commit -> visible lag", p50, p99))
    ctx.latencies.append(Latency("B5 command (POST/PATCH)", percentile(tally.commands_ms, 50),
                                 percentile(tally.commands_ms, 99)))  # fmt: skip
    late = percentile(tally.late_ms, 99)
    return [
        Row("B5", "lag p50 ms (command answered -> GET 200)", p50, 0, "<= 20 ms", p50 <= 20),
        Row("B5", "lag p99 ms", p99, 0, "<= 100 ms", p99 <= 100),
        Row("B5", f"commands/s achieved vs offered ({source}; done in {took:.0f} s; "
            f"client p99 late {late:.0f} ms)", achieved, rate, ">= 95%", achieved >= 0.95 * rate),
        Row("B5", "errors (failed command or GET, stale)", tally.errors, 0, "0",
            tally.errors == 0),
    ]  # fmt: skip

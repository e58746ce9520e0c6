"""B5: commit -> query-visible lag under a steady open-loop load.

The production topology, one process each: `serve commands`, `relay`, `project` (every
projector) and `serve queries`, sharing the PostgreSQL read store. The all-in-one
`serve` would put all of it on one GIL, where B1's rate, measured on `serve commands`
alone, is out of reach.

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
from collections import Counter
from dataclasses import dataclass, field

import h11

from bench.clients import client, describe, register_many
from bench.clients import percentile as percentile  # bench/growth.py imports it from here
from bench.http import Connection
from bench.rows import Context, Latency, Row, Series, own_database
from bench.servers import server

PORT, QUERIES_PORT = 8817, 8819
IN_FLIGHT = 64
"""Workers, so most commands under way at once; past it a command waits for a free
worker, and the wait shows as lateness (see bench/http.py for why not httpx)."""


@dataclass
class Tally:
    lags_ms: list[float] = field(default_factory=list)
    commands_ms: list[float] = field(default_factory=list)
    late_ms: list[float] = field(default_factory=list)
    """How far behind its schedule each command started: the client's own backlog."""
    done_at: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    """By what failed: the command's or the GET's status, an exception's name, or stale."""
    tasks: list[str] = field(default_factory=list)


def b5_rate(ctx: Context) -> tuple[float, str]:
    """Half of B1's measured req/s when B1 ran in this run, else --rate-b5."""
    b1 = [s.values for s in ctx.series if s.label == "B1 POST /tasks" and s.values]
    if b1:
        return statistics.median(b1[0]) / 2, "half of B1"
    return float(ctx.args.rate_b5), "--rate-b5"


async def _command(
    api: Connection, queries: Connection, i: int, users: list[str], tally: Tally
) -> None:
    """One command, then its read-your-writes GET; failures count, never raise."""
    title, create = f"b5 {i}", i % 2 == 0 or not tally.tasks
    sent = time.perf_counter()
    try:
        if create:
            answer = await api.request(
                "POST", "/api/v1/tasks", json={"user_id": random.choice(users), "title": title}
            )
        else:
            answer = await api.request("PATCH", f"/api/v1/tasks/{random.choice(tally.tasks)}",
                                       json={"title": title})  # fmt: skip
        committed = time.perf_counter()
        if answer.status not in (200, 201):
            tally.errors[f"command {answer.status}"] += 1
            return
        task = str(answer.json()["id"])  # type: ignore[index]
        position = {"X-Min-Position": answer.headers["x-event-position"]}
        seen = await queries.request("GET", f"/api/v1/tasks/{task}", headers=position)
        visible = time.perf_counter()
    except (OSError, h11.ProtocolError) as error:
        tally.errors[type(error).__name__] += 1
        return
    if seen.status != 200:
        tally.errors[f"GET {seen.status}"] += 1
        return
    if create:  # a PATCHed task's title may have moved on since, through another PATCH
        if seen.json()["title"] != title:  # type: ignore[index]
            tally.errors["stale"] += 1  # X-Min-Position did not hold
            return
        tally.tasks.append(task)
    tally.commands_ms.append((committed - sent) * 1000)
    tally.lags_ms.append((visible - committed) * 1000)
    tally.done_at.append(visible)


async def _open_loop(commands: str, queries: str, rate: float, seconds: int) -> tuple[Tally, float]:
    """IN_FLIGHT workers, each with its own connections, take commands as they fall due;
    a command no worker is free for waits, and its wait is recorded as lateness."""
    tally = Tally()
    async with client(commands) as api:
        users = await register_many(api, 20)
    warm = (Connection(commands), Connection(queries))
    for i in range(50):  # tasks to PATCH from the first second; warms the servers up
        await _command(*warm, i * 2, users, tally)
    tally = Tally(tasks=tally.tasks)
    due: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()

    async def worker() -> None:
        own = (Connection(commands), Connection(queries))
        while (item := await due.get()) is not None:
            i, at = item
            tally.late_ms.append(max(0.0, time.perf_counter() - at) * 1000)
            await _command(*own, i, users, tally)
        for connection in (*own, *warm):
            await connection.close()

    workers = [asyncio.create_task(worker()) for _ in range(IN_FLIGHT)]
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        at = start + i / rate
        if (wait := at - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        due.put_nowait((i, at))
    for _ in workers:
        due.put_nowait(None)
    await asyncio.gather(*workers)
    return tally, start


@own_database
def b5(ctx: Context) -> list[Row]:
    """Projection lag at half of B1's max rate: command answered -> GET X-Min-Position 200."""
    rate, source = b5_rate(ctx)
    seconds = ctx.args.seconds_b5
    env = ctx.env
    with (
        server(["cli", "serve", "commands", "--port", str(PORT)], port=PORT, ready="/health",
               env=env) as commands,
        server(["cli", "relay"], port=0, ready=None, env=env),
        server(["cli", "project"], port=0, ready=None, env=env),
        server(["cli", "serve", "queries", "--port", str(QUERIES_PORT)],
               port=QUERIES_PORT, ready="/health", env=env) as queries,
    ):  # fmt: skip
        tally, start = asyncio.run(_open_loop(commands, queries, rate, seconds))
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
        Row("B5", f"errors ({describe(tally.errors)})", tally.errors.total(), 0, "0",
            not tally.errors),
    ]  # fmt: skip

"""B7: floors of `tasktrail serve` seeded by real registrations, then a mixed load.

(a) 50 clients register 10 users each, over HTTP: argon2 makes each cost ~30 ms of
server CPU, so the ceiling is cores / hash time, measured here in the same run.
(b) Then 30 s of a closed-loop mixed load (mostly GETs of users and tasks, some task
commands) from asyncio clients, with the server's RSS read before and after.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import h11
import httpx

from bench.clients import client, describe, percentile, register
from bench.http import Connection
from bench.rows import Context, Latency, Row, Series, own_database
from bench.servers import server
from write_side.passwords import Argon2Hasher

PORT = 8818
CLIENTS, EACH = 50, 10
WORKERS = 32
"""Concurrent clients of the mixed load."""


@dataclass
class Mix:
    latencies_ms: list[float] = field(default_factory=list)
    queries: int = 0
    commands: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    """By status code, or the exception's name."""
    tasks: list[tuple[str, str]] = field(default_factory=list)
    """Tasks created, with the X-Event-Position to read them at (read-your-writes)."""
    rss_mb: list[float] = field(default_factory=list)
    """The server's RSS, sampled every second."""


def _argon2_ceiling() -> float:
    """Registrations/s if every core did nothing but hash passwords."""
    hasher, started = Argon2Hasher(), time.perf_counter()
    for _ in range(5):
        hasher.hash("Bench-Pass-123")
    return (os.cpu_count() or 1) / ((time.perf_counter() - started) / 5)


def _rss_mb(port: int) -> float:
    """VmRSS of the process started with ``--port PORT`` (ours: servers.server spawns it)."""
    needle = f"--port\0{port}\0".encode()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and needle in (proc / "cmdline").read_bytes():
                for line in (proc / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            continue
    raise RuntimeError(f"no process serves port {port}")


async def _registrations(base: str) -> tuple[list[str], list[float], Counter[str], float]:
    """(a): ids, latencies (ms), errors and the seconds it took."""
    ids: list[str] = []
    latencies: list[float] = []
    errors: Counter[str] = Counter()

    async def one_client(api: httpx.AsyncClient) -> None:
        for _ in range(EACH):
            sent = time.perf_counter()
            try:
                answer = await register(api)
            except httpx.HTTPError as error:
                errors[type(error).__name__] += 1
                continue
            latencies.append((time.perf_counter() - sent) * 1000)
            if answer.status_code == 201:
                ids.append(answer.json()["id"])
            else:
                errors[str(answer.status_code)] += 1

    started = time.perf_counter()
    async with client(base, authorized=False) as api:
        await asyncio.gather(*(one_client(api) for _ in range(CLIENTS)))
    return ids, latencies, errors, time.perf_counter() - started


async def _mixed(base: str, users: list[str], seconds: int, port: int) -> tuple[Mix, list[float]]:
    """(b): each worker loops 45% GET user, 45% GET task, 5% POST task, 5% PATCH task,
    over a keep-alive connection of its own (bench/http.py: httpx's pool was the
    bottleneck, not the server)."""
    mix, done_at = Mix(), []

    async def request(api: Connection) -> None:
        roll = random.random()
        if roll < 0.45 or (roll < 0.9 and not mix.tasks):
            user = random.choice(users)
            method, answer = "GET", await api.request("GET", f"/api/v1/users/{user}")
        elif roll < 0.9:
            task, position = random.choice(mix.tasks)
            method, answer = (
                "GET",
                await api.request(
                    "GET", f"/api/v1/tasks/{task}", headers={"X-Min-Position": position}
                ),
            )
        elif roll < 0.95 or not mix.tasks:
            method, answer = (
                "POST",
                await api.request(
                    "POST", "/api/v1/tasks", json={"user_id": random.choice(users), "title": "b7"}
                ),
            )
            if answer.status == 201:
                created = answer.json()
                assert isinstance(created, dict)
                mix.tasks.append((created["id"], answer.headers["x-event-position"]))
        else:
            method, answer = "PATCH", await api.request(
                "PATCH", f"/api/v1/tasks/{random.choice(mix.tasks)[0]}",
                json={"priority": random.choice(["low", "high"])},
            )  # fmt: skip
        if answer.status >= 300:
            mix.errors[str(answer.status)] += 1
        elif method == "GET":
            mix.queries += 1
        else:
            mix.commands += 1

    async def worker(deadline: float) -> None:
        api = Connection(base)
        while (sent := time.perf_counter()) < deadline:
            try:
                await request(api)
            except (OSError, h11.ProtocolError) as error:
                mix.errors[type(error).__name__] += 1
            done = time.perf_counter()
            mix.latencies_ms.append((done - sent) * 1000)
            done_at.append(done)
        await api.close()

    async def sample_rss(deadline: float) -> None:
        while time.perf_counter() < deadline:
            mix.rss_mb.append(_rss_mb(port))
            await asyncio.sleep(1)
        mix.rss_mb.append(_rss_mb(port))

    warm = Connection(base)
    for _ in range(20):  # tasks to read and PATCH from the start
        await request(warm)
    await warm.close()
    mix.queries = mix.commands = 0
    mix.latencies_ms.clear()
    start = time.perf_counter()
    await asyncio.gather(
        sample_rss(start + seconds), *(worker(start + seconds) for _ in range(WORKERS))
    )
    return mix, [at - start for at in done_at]


@own_database
def b7(ctx: Context) -> list[Row]:
    """Seed floors: 50 clients x 10 registrations, then 30 s of mixed load."""
    seconds = ctx.args.seconds_b7
    ceiling = _argon2_ceiling()
    with server(["cli", "serve", "--port", str(PORT)], port=PORT, ready="/health",
                env=ctx.env) as base:  # fmt: skip
        users, signups_ms, signup_errors, took = asyncio.run(_registrations(base))
        mix, offsets = asyncio.run(_mixed(base, users or ["00000000-0000-0000-0000-000000000000"],
                                          seconds, PORT))  # fmt: skip
    rate = len(users) / took
    ctx.latencies.append(Latency("B7a POST /users (50 clients)", percentile(signups_ms, 50),
                                 percentile(signups_ms, 99)))  # fmt: skip
    avg = statistics.fmean(mix.latencies_ms) if mix.latencies_ms else 0.0
    p95 = percentile(mix.latencies_ms, 95)
    ctx.latencies.append(Latency("B7b mixed load", percentile(mix.latencies_ms, 50),
                                 percentile(mix.latencies_ms, 99)))  # fmt: skip
    per_second = [0.0] * (seconds + 1)
    for at in offsets:
        per_second[min(seconds, int(at))] += 1
    ctx.series.append(Series("B7b mixed requests per second", "second", "req/s", per_second))
    queries = mix.queries / seconds
    # From the lowest point: argon2's 19 MiB per concurrent hash in (a) is handed back to
    # the OS only during (b), which would hide a leak as large behind a shrinking RSS.
    low, end = min(mix.rss_mb), mix.rss_mb[-1]
    growth = end - low
    total = CLIENTS * EACH
    return [
        Row("B7", f"(a) users registered of {total} (errors: {describe(signup_errors)})",
            len(users), total, "all", len(users) == total and not signup_errors),
        Row("B7", "(a) registrations/s vs argon2 ceiling (cores / hash s)", rate, ceiling,
            ">= 50%", rate >= 0.5 * ceiling),
        Row("B7", "(b) mixed load avg ms", avg, 0, "< 100 ms", avg < 100),
        Row("B7", "(b) mixed load p95 ms", p95, 0, "< 200 ms", p95 < 200),
        Row("B7", f"(b) queries/s (and {mix.commands / seconds:.0f} commands/s)", queries, 0,
            "> 1,000", queries > 1000),
        Row("B7", f"(b) errors ({describe(mix.errors)})", mix.errors.total(), 0, "0",
            not mix.errors),
        Row("B7", f"(b) server RSS growth MB (start {mix.rss_mb[0]:.0f}, low {low:.0f}, "
            f"end {end:.0f})", growth, 0, "< 100 MB", growth < 100),
    ]  # fmt: skip

"""tasktrail's benchmarks, each against a baseline measured in the same run.

    bench/run [--seconds 30] [--repeat 3] [--only B1,B2,B3,B4,B5,B6,B7,B8]
              [--events-b4 100000] [--rate-b5 150] [--seconds-b5 60]
              [--events-b6 1000000] [--seconds-b7 30] [--appends-b8 2000]

Prints one table (figure, baseline, ratio, target, pass/fail) and writes the
results as JSON under bench/results/, with a PNG chart of the same stem.
Targets are those of the benchmarks issue.

A benchmark is a function ``(Context) -> list[Row]`` registered in
``_registry()``; ``--only`` defaults to all of them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from rich.console import Console
from rich.table import Table

from bench import chart, wrk
from bench.auth import SECRET, admin_token, bearer
from bench.checkpoints import idle
from bench.corpus import ADMIN, Corpus
from bench.rows import INFORMATION, Context, Latency, Row, Series, own_database
from bench.servers import server
from common.settings import Settings
from events.envelope import Envelope
from events.users import UserRegistered
from write_side.bootstrap import bootstrap

RESULTS = Path(__file__).parent / "results"


def median_of(ctx: Context, label: str, repeat: int, measure: Callable[[], wrk.Load]) -> wrk.Load:
    """Runs ``measure`` ``repeat`` times; records each run for the chart, returns medians."""
    runs = [measure() for _ in range(repeat)]
    ctx.series.append(Series(label, "run", "req/s", [r.requests_per_second for r in runs]))
    load = wrk.Load(
        statistics.median(r.requests_per_second for r in runs),
        statistics.median(r.p50_ms for r in runs),
        statistics.median(r.p99_ms for r in runs),
        sum(r.errors for r in runs),
    )
    ctx.latencies.append(Latency(label, load.p50_ms, load.p99_ms))
    return load


def bare_lock_insert_loop(dsn: str, seconds: int) -> float:
    """B1 baseline (a): LOCK TABLE + INSERT + COMMIT in a loop on one connection."""
    with psycopg.connect(dsn) as conn:
        count, deadline = 0, time.monotonic() + seconds
        while time.monotonic() < deadline:
            with conn.transaction():
                conn.execute("LOCK TABLE bench_rows IN EXCLUSIVE MODE")
                conn.execute("INSERT INTO bench_rows (state) VALUES (%s)", (b"x" * 400,))
            count += 1
    return count / seconds


def b1(ctx: Context) -> list[Row]:
    """POST /api/v1/tasks, 64 connections."""
    env, dsn, seconds, repeat = ctx.env, ctx.dsn, ctx.args.seconds, ctx.args.repeat
    loop = statistics.median(bare_lock_insert_loop(dsn, seconds) for _ in range(repeat))
    with server(["uvicorn", "--factory", "bench.baselines:insert_app", "--port", "8811",
                 "--log-level", "warning"], port=8811, ready="/docs", env=env) as base:  # fmt: skip
        pooled = median_of(ctx, "B1 bare FastAPI INSERT", repeat, lambda: wrk.run(
            base + "/insert", "post_body.lua", connections=64, seconds=seconds,
            env={}))  # fmt: skip
    ours = _post_tasks(ctx, "B1 POST /tasks", env)
    # The owners come from the command cache (write_side/stream_cache.py) after their
    # first task; shown without it too, for what a command costs that loads its owner.
    uncached = _post_tasks(ctx, "B1 POST /tasks, cache off",
                           env | {"TASKTRAIL_COMMAND_CACHE_STREAMS": "0"})  # fmt: skip
    return [
        Row("B1", "POST /tasks req/s vs bare LOCK+INSERT loop (a)", ours.requests_per_second,
            loop, ">= 60%", ours.requests_per_second >= 0.6 * loop),
        Row("B1", "POST /tasks req/s vs bare FastAPI INSERT (b)", ours.requests_per_second,
            pooled.requests_per_second, ">= 50%",
            ours.requests_per_second >= 0.5 * pooled.requests_per_second),
        Row("B1", "POST /tasks p99 ms vs (b)", ours.p99_ms, pooled.p99_ms, "<= 2x",
            ours.p99_ms <= 2 * pooled.p99_ms),
        Row("B1", "errors (non-2xx, socket)", ours.errors, 0, "0", ours.errors == 0),
        Row("B1", "POST /tasks req/s with the command cache off vs (a)",
            uncached.requests_per_second, loop, INFORMATION, True),
    ]  # fmt: skip


def _post_tasks(ctx: Context, label: str, env: dict[str, str]) -> wrk.Load:
    """POST /api/v1/tasks at 64 connections, for 20 users registered first."""
    with server(["cli", "serve", "commands", "--port", "8812"], port=8812, ready="/health",
                env=env) as base:  # fmt: skip
        users = []
        for _ in range(20):
            name = uuid.uuid4().hex[:12]
            body = {"email": f"{name}@example.com", "username": name, "password": "Bench-Pass-123"}
            users.append(httpx.post(base + "/api/v1/users", json=body, timeout=30).json()["id"])
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as ids:
            ids.write("\n".join(users))
        return median_of(ctx, label, ctx.args.repeat, lambda: wrk.run(
            base + "/api/v1/tasks", "post_task.lua", connections=64, seconds=ctx.args.seconds,
            env={"USERS_FILE": ids.name, "TOKEN": admin_token()}))  # fmt: skip


def seed_users(settings: Settings, n: int) -> tuple[list[str], int]:
    """Registrations appended straight to the event store (no 30 ms hash per user);
    returns the ids and the head position."""
    ws = bootstrap(settings)
    now, ids, batch = datetime.datetime.now(UTC), [], []
    for _ in range(n):
        user = uuid.uuid4()
        name = user.hex[:16]
        event = UserRegistered(email=f"{name}@example.com", username=name, password_hash="x")
        batch.append(Envelope(event, uuid.uuid4(), user, 1, now))
        ids.append(str(user))
        if len(batch) == 1000:
            ws.store.append(batch)
            batch = []
    if batch:
        ws.store.append(batch)
    head = ws.store.head()
    ws.close()
    return ids, head


@own_database
def b2(ctx: Context) -> list[Row]:
    """GET /api/v1/users/{id}, random ids over 10,000 users, from the cache."""
    env, settings, seconds, repeat = ctx.env, ctx.settings, ctx.args.seconds, ctx.args.repeat
    users, head = seed_users(settings, 10_000)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as ids:
        ids.write("\n".join(users))
    prefix = f"{settings.namespace}_bare"
    with server(["cli", "serve", "--port", "8813"], port=8813, ready="/health", env=env) as base:
        wait = {"X-Min-Position": str(head)} | bearer()  # the projectors catch up on start
        with httpx.Client(base_url=base, timeout=30, headers=wait) as client:
            for uid in users:  # read-through fills the cache
                while (status := client.get(f"/api/v1/users/{uid}").status_code) == 504:
                    pass  # still replaying: X-Min-Position waited its 5 s
                assert status == 200, status
        idle(settings, head, within=300)
        cache = redis.Redis.from_url(settings.redis_url)
        pipe = cache.pipeline()
        for uid in users:
            pipe.hget(f"{settings.namespace}:user:{uid}", "b")
        bodies = pipe.execute()
        cache.mset({f"{prefix}:{u}": b for u, b in zip(users, bodies, strict=True)})
        ours = median_of(ctx, "B2 GET /users/{id}", repeat, lambda: wrk.run(
            base + "/", "get_random.lua", connections=64, seconds=seconds,
            env={"IDS_FILE": ids.name, "PATH_PREFIX": "/api/v1/users/",
                 "TOKEN": admin_token()}))  # fmt: skip
    with server(["uvicorn", "--factory", "bench.baselines:redis_app", "--port", "8814",
                 "--log-level", "warning"], port=8814, ready="/docs",
                env=env | {"BENCH_PREFIX": prefix}) as base:  # fmt: skip
        bare = median_of(ctx, "B2 bare FastAPI Redis GET", repeat, lambda: wrk.run(
            base + "/", "get_random.lua", connections=64, seconds=seconds,
            env={"IDS_FILE": ids.name, "PATH_PREFIX": "/get/"}))  # fmt: skip
    cache.delete(*[f"{prefix}:{u}" for u in users])
    return [
        Row("B2", "GET /users/{id} req/s vs bare FastAPI Redis GET", ours.requests_per_second,
            bare.requests_per_second, ">= 70%",
            ours.requests_per_second >= 0.7 * bare.requests_per_second),
        Row("B2", "GET /users/{id} p99 ms vs baseline", ours.p99_ms, bare.p99_ms, "<= 1.5x",
            ours.p99_ms <= 1.5 * bare.p99_ms),
        Row("B2", "errors (non-2xx, socket)", ours.errors, 0, "0", ours.errors == 0),
    ]  # fmt: skip


def postgres_settings(dsn: str) -> dict[str, Any]:
    with psycopg.connect(dsn) as conn:
        return {
            name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("synchronous_commit", "fsync", "server_version")
        }


def _registry() -> dict[str, Callable[[Context], list[Row]]]:
    """Every implemented benchmark, in the order they run.

    B6, B8 and B9 share one seeded corpus (ctx.corpus), so a million events are
    seeded once. B5 runs after B1 to load at half of B1's measured rate. To add
    one, write ``def bN(ctx: Context) -> list[Row]`` and list it here.
    """
    from bench.floors import b7
    from bench.growth import b8
    from bench.lag import b5
    from bench.query import b3
    from bench.rebuild import b6
    from bench.relay import b4
    from bench.restart import b9

    return {
        "B1": b1, "B2": b2, "B3": b3, "B4": b4, "B5": b5, "B6": b6, "B7": b7, "B8": b8, "B9": b9,
    }  # fmt: skip


def main() -> None:
    benches = _registry()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default=",".join(sorted(benches)),
                        help=f"comma-separated, from {', '.join(sorted(benches))}")  # fmt: skip
    parser.add_argument("--events-b4", type=int, default=100_000,
                        help="stored events the relay moves to RabbitMQ")  # fmt: skip
    parser.add_argument("--rate-b5", type=float, default=150.0,
                        help="B5 commands/s when B1 does not run first")  # fmt: skip
    parser.add_argument("--seconds-b5", type=int, default=60, help="B5's load duration")
    parser.add_argument("--seconds-b7", type=int, default=30, help="B7's mixed load duration")
    parser.add_argument("--events-b6", type=int, default=1_000_000,
                        help="stored events rebuilt (B6); B8's large size too")  # fmt: skip
    parser.add_argument("--events-b8", type=int, default=10_000,
                        help="B8's small size (stored events)")  # fmt: skip
    parser.add_argument("--appends-b8", type=int, default=2000,
                        help="sequential appends timed at each size")  # fmt: skip
    args = parser.parse_args()
    only = {name.strip().upper() for name in args.only.split(",") if name.strip()}
    if unknown := only - benches.keys():
        parser.error(f"not implemented: {', '.join(sorted(unknown))}")
    suffix = uuid.uuid4().hex[:8]
    dbname = f"bench_{suffix}"
    dsn = f"postgresql://postgres@127.0.0.1:5432/{dbname}"
    settings = Settings(postgres_dsn=dsn, namespace=f"bench_{suffix}", log_level="WARNING")
    env = {
        "TASKTRAIL_POSTGRES_DSN": dsn, "TASKTRAIL_NAMESPACE": settings.namespace,
        "TASKTRAIL_LOG_LEVEL": "WARNING", "BENCH_DSN": dsn, "TASKTRAIL_JWT_SECRET": SECRET,
    }  # fmt: skip
    bootstrap(settings).close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_rows (id bigserial PRIMARY KEY, state bytea)")
    ctx = Context(args, settings, dsn, env, Corpus(f"bench_{suffix}_corpus"))
    rows: list[Row] = []
    load_before = os.getloadavg()
    try:
        for name, bench in benches.items():
            if name in only:
                Console(width=160).print(f"[bold]{name}[/] {(bench.__doc__ or '').splitlines()[0]}")
                rows += bench(ctx)
        rows.sort(key=lambda r: r.bench)
        machine = {"load_average_before": load_before, "load_average_after": os.getloadavg()}
        report(rows, ctx, postgres_settings(dsn), machine)
    finally:
        ctx.corpus.close()
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")


def report(rows: list[Row], ctx: Context, pg: dict[str, Any], load: dict[str, Any]) -> None:
    """The table, the JSON and the chart; ``load`` tells whether anything else ran."""
    args = ctx.args
    table = Table(title=f"tasktrail benchmarks ({args.seconds} s x {args.repeat}, medians)")
    for column in ("bench", "figure", "value", "baseline", "ratio", "target", "result"):
        table.add_column(column)
    for r in rows:
        table.add_row(r.bench, r.figure, f"{r.value:,.1f}", f"{r.baseline:,.1f}",
                      f"{r.ratio:.0%}" if r.baseline else "-", r.target,
                      "-" if r.target == INFORMATION else
                      "[green]pass" if r.passed else "[red]fail")  # fmt: skip
    console = Console(width=160)  # a log file is not 80 columns of terminal
    console.print(table)
    console.print(f"PostgreSQL: {pg}")
    console.print(f"load average (1, 5, 15 min) before and after: {load}")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    path = RESULTS / f"{stamp}-{platform.node()}.json"
    path.write_text(json.dumps({
        "machine": {"node": platform.node(), "cpus": os.cpu_count()} | load,
        "postgres": pg, "seconds": args.seconds, "repeat": args.repeat,
        "sizes": {"events_b4": args.events_b4, "events_b6": args.events_b6,
                  "events_b8": args.events_b8, "appends_b8": args.appends_b8,
                  "rate_b5": args.rate_b5, "seconds_b5": args.seconds_b5,
                  "seconds_b7": args.seconds_b7},
        "corpus_seeding_seconds": round(ctx.corpus.seeding_seconds, 1),
        "rows": [asdict(r) | {"ratio": r.ratio} for r in rows],
        "latencies": [asdict(x) for x in ctx.latencies],
        "series": [asdict(x) for x in ctx.series],
    }, indent=2))  # fmt: skip
    picture = chart.draw(path.with_suffix(".png"), ctx.latencies, ctx.series,
                         title=f"tasktrail benchmarks {stamp} ({platform.node()})")  # fmt: skip
    console.print(f"results: {path}" + (f"\nchart: {picture}" if picture else ""))


if __name__ == "__main__":
    main()

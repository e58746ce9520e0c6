"""tasktrail's benchmarks, each against a baseline measured in the same run.

    bench/run [--seconds 30] [--repeat 3] [--only B1,B2]

Prints one table (figure, baseline, ratio, target, pass/fail) and writes the
results as JSON under bench/results/. Targets are those of the benchmarks issue.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from rich.console import Console
from rich.table import Table

from bench import wrk
from bench.servers import server
from common.settings import Settings
from events.envelope import Envelope
from events.users import UserRegistered
from write_side.bootstrap import bootstrap

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
RESULTS = Path(__file__).parent / "results"


@dataclass
class Row:
    bench: str
    figure: str
    value: float
    baseline: float
    target: str
    passed: bool

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else 0.0


def median_of(repeat: int, measure: Callable[[], wrk.Load]) -> wrk.Load:
    runs = [measure() for _ in range(repeat)]
    return wrk.Load(
        statistics.median(r.requests_per_second for r in runs),
        statistics.median(r.p50_ms for r in runs),
        statistics.median(r.p99_ms for r in runs),
        sum(r.errors for r in runs),
    )


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


def b1(env: dict[str, str], dsn: str, seconds: int, repeat: int) -> list[Row]:
    """POST /api/v1/tasks, 64 connections."""
    loop = statistics.median(bare_lock_insert_loop(dsn, seconds) for _ in range(repeat))
    with server(["uvicorn", "--factory", "bench.baselines:insert_app", "--port", "8811",
                 "--log-level", "warning"], port=8811, ready="/docs", env=env) as base:  # fmt: skip
        pooled = median_of(repeat, lambda: wrk.run(
            base + "/insert", "post_body.lua", connections=64, seconds=seconds,
            env={}))  # fmt: skip
    with server(["cli", "serve", "commands", "--port", "8812"], port=8812, ready="/health",
                env=env) as base:  # fmt: skip
        users = []
        for _ in range(20):
            name = uuid.uuid4().hex[:12]
            body = {"email": f"{name}@example.com", "username": name, "password": "Bench-Pass-123"}
            users.append(httpx.post(base + "/api/v1/users", json=body, timeout=30).json()["id"])
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as ids:
            ids.write("\n".join(users))
        ours = median_of(repeat, lambda: wrk.run(
            base + "/api/v1/tasks", "post_task.lua", connections=64, seconds=seconds,
            env={"USERS_FILE": ids.name}))  # fmt: skip
    return [
        Row("B1", "POST /tasks req/s vs bare LOCK+INSERT loop (a)", ours.requests_per_second,
            loop, ">= 60%", ours.requests_per_second >= 0.6 * loop),
        Row("B1", "POST /tasks req/s vs bare FastAPI INSERT (b)", ours.requests_per_second,
            pooled.requests_per_second, ">= 50%",
            ours.requests_per_second >= 0.5 * pooled.requests_per_second),
        Row("B1", "POST /tasks p99 ms vs (b)", ours.p99_ms, pooled.p99_ms, "<= 2x",
            ours.p99_ms <= 2 * pooled.p99_ms),
        Row("B1", "errors (non-2xx, socket)", ours.errors, 0, "0", ours.errors == 0),
    ]  # fmt: skip


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


def b2(env: dict[str, str], settings: Settings, seconds: int, repeat: int) -> list[Row]:
    """GET /api/v1/users/{id}, random ids over 10,000 users, from the cache."""
    users, head = seed_users(settings, 10_000)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as ids:
        ids.write("\n".join(users))
    prefix = f"{settings.namespace}_bare"
    with server(["cli", "serve", "--port", "8813"], port=8813, ready="/health", env=env) as base:
        wait = {"X-Min-Position": str(head)}  # serve replays the store on start
        with httpx.Client(base_url=base, timeout=30, headers=wait) as client:
            for uid in users:  # read-through fills the cache
                while (status := client.get(f"/api/v1/users/{uid}").status_code) == 504:
                    pass  # still replaying: X-Min-Position waited its 5 s
                assert status == 200, status
        cache = redis.Redis.from_url(settings.redis_url)
        pipe = cache.pipeline()
        for uid in users:
            pipe.hget(f"{settings.namespace}:user:{uid}", "b")
        bodies = pipe.execute()
        cache.mset({f"{prefix}:{u}": b for u, b in zip(users, bodies, strict=True)})
        ours = median_of(repeat, lambda: wrk.run(
            base + "/", "get_random.lua", connections=64, seconds=seconds,
            env={"IDS_FILE": ids.name, "PATH_PREFIX": "/api/v1/users/"}))  # fmt: skip
    with server(["uvicorn", "--factory", "bench.baselines:redis_app", "--port", "8814",
                 "--log-level", "warning"], port=8814, ready="/docs",
                env=env | {"BENCH_PREFIX": prefix}) as base:  # fmt: skip
        bare = median_of(repeat, lambda: wrk.run(
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="B1,B2")
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    dbname = f"bench_{suffix}"
    dsn = f"postgresql://postgres@127.0.0.1:5432/{dbname}"
    settings = Settings(postgres_dsn=dsn, namespace=f"bench_{suffix}", log_level="WARNING")
    env = {
        "TASKTRAIL_POSTGRES_DSN": dsn, "TASKTRAIL_NAMESPACE": settings.namespace,
        "TASKTRAIL_LOG_LEVEL": "WARNING", "BENCH_DSN": dsn,
    }  # fmt: skip
    bootstrap(settings).close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_rows (id bigserial PRIMARY KEY, state bytea)")
    rows: list[Row] = []
    try:
        if "B1" in args.only:
            rows += b1(env, dsn, args.seconds, args.repeat)
        if "B2" in args.only:
            rows += b2(env, settings, args.seconds, args.repeat)
        report(rows, postgres_settings(dsn), args)
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")


def report(rows: list[Row], pg: dict[str, Any], args: argparse.Namespace) -> None:
    table = Table(title=f"tasktrail benchmarks ({args.seconds} s x {args.repeat}, medians)")
    for column in ("bench", "figure", "value", "baseline", "ratio", "target", "result"):
        table.add_column(column)
    for r in rows:
        table.add_row(r.bench, r.figure, f"{r.value:,.1f}", f"{r.baseline:,.1f}",
                      f"{r.ratio:.0%}" if r.baseline else "-", r.target,
                      "[green]pass" if r.passed else "[red]fail")  # fmt: skip
    Console().print(table)
    Console().print(f"PostgreSQL: {pg}")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    path = RESULTS / f"{stamp}-{platform.node()}.json"
    path.write_text(json.dumps({
        "machine": {"node": platform.node(), "cpus": __import__("os").cpu_count()},
        "postgres": pg, "seconds": args.seconds, "repeat": args.repeat,
        "rows": [asdict(r) | {"ratio": r.ratio} for r in rows],
    }, indent=2))  # fmt: skip
    Console().print(f"results: {path}")


if __name__ == "__main__":
    main()

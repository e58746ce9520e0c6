"""Commit -> query-visible lag of a real `tasktrail serve`, over HTTP.

For each command: time from the command's response (its events are committed)
until a query with X-Min-Position at that command's position returns (the read
model has applied them). Baseline in the same run: the same query once the read
model is already there, i.e. the query's own cost.

    .venv/bin/python bench/lag.py [--commands 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid

import httpx
import psycopg

PORT = 8791


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(n: int) -> tuple[list[float], list[float]]:
    lags, baseline = [], []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}/api/v1", timeout=30) as api:
        name = uuid.uuid4().hex[:12]
        user = await api.post(
            "/users",
            json={"email": f"{name}@example.com", "username": name, "password": "Bench-Password-1"},
        )
        uid = user.json()["id"]
        task = await api.post("/tasks", json={"user_id": uid, "title": "t"})
        tid = task.json()["id"]
        for i in range(n):
            changed = await api.patch(f"/tasks/{tid}", json={"title": f"title {i}"})
            committed = time.perf_counter()
            seen = await api.get(
                f"/tasks/{tid}", headers={"X-Min-Position": changed.headers["x-event-position"]}
            )
            lags.append((time.perf_counter() - committed) * 1000)
            assert seen.json()["title"] == f"title {i}", seen.text
            started = time.perf_counter()
            await api.get(
                f"/tasks/{tid}", headers={"X-Min-Position": changed.headers["x-event-position"]}
            )
            baseline.append((time.perf_counter() - started) * 1000)
    return lags, baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1000)
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    env = os.environ | {
        "TASKTRAIL_POSTGRES_DSN": f"postgresql://postgres@127.0.0.1:5432/bench_{suffix}",
        "TASKTRAIL_NAMESPACE": f"bench_{suffix}",
        "TASKTRAIL_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--port", str(PORT)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{PORT}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        lags, baseline = asyncio.run(measure(args.commands))
    finally:
        server.terminate()
        server.wait(timeout=30)
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS bench_{suffix} WITH (FORCE)")
    print(f"commands: {len(lags)} (PATCH /tasks/{{id}}, one at a time)")
    print("                      p50 ms   p99 ms   max ms")
    for label, values in (("commit -> visible", lags), ("query alone (base)", baseline)):
        print(
            f"{label:<20}{statistics.median(values):>8.2f} {percentile(values, 99):>8.2f}"
            f" {max(values):>8.2f}"
        )


if __name__ == "__main__":
    main()

"""B9: `tasktrail serve` restarted over a large store answers at once and replays nothing.

The corpus B6 seeded (a million events by default) is projected once by a first,
cold `serve`, which catches every projector up from position 0 (its time is shown as
information). That process is stopped with SIGTERM and started again: the figure is
the time from the new process's start to its first `/health/ready` 200, and to every
projector's checkpoint at the head (resumed from the stored checkpoints, not
replayed). The baseline, in the same run, is the same start on an empty database: what
Python, the imports and uvicorn cost before anything is read.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import httpx

from bench.checkpoints import caught_up
from bench.corpus import drop_database
from bench.rows import Context, Row
from common.settings import Settings
from write_side.bootstrap import bootstrap

PORT = 8821


def _started(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], float]:
    """A serve process and the seconds until it answered /health/ready with 200."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--port", str(PORT)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{PORT}/health/ready", timeout=1).status_code == 200:
                return process, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError("serve exited before it was ready")
        time.sleep(0.01)


def _stopped(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=60)


def b9(ctx: Context) -> list[Row]:
    """Restart of serve over the B6 corpus vs a start on an empty database."""
    head = ctx.corpus.grow_to(ctx.args.events_b6)
    dsn = ctx.corpus.dsn
    env = ctx.env | {"TASKTRAIL_POSTGRES_DSN": dsn, "TASKTRAIL_NAMESPACE": ctx.corpus.name}

    empty = f"{ctx.settings.namespace}_b9_empty_{uuid.uuid4().hex[:4]}"
    empty_dsn = dsn.rsplit("/", 1)[0] + f"/{empty}"
    bootstrap(Settings(postgres_dsn=empty_dsn, log_level="WARNING")).close()
    try:
        baseline = []
        for _ in range(ctx.args.repeat):
            process, seconds = _started(env | {"TASKTRAIL_POSTGRES_DSN": empty_dsn,
                                               "TASKTRAIL_NAMESPACE": empty})  # fmt: skip
            baseline.append(seconds)
            _stopped(process)
    finally:
        drop_database(empty)

    cold_started = time.perf_counter()
    process, _ = _started(env)
    cold = caught_up(dsn, head, cold_started, within=3600)
    _stopped(process)
    print(f"  B9 cold start: every projector at {head:,} after {cold:,.1f} s")
    ready, resumed = [], []
    for _ in range(ctx.args.repeat):
        restarted = time.perf_counter()
        process, seconds = _started(env)
        ready.append(seconds)
        resumed.append(caught_up(dsn, head, restarted, within=60))
        _stopped(process)
    ready_s, resumed_s, base_s = sorted(ready)[len(ready) // 2], max(resumed), min(baseline)
    return [
        Row("B9", f"serve restart over {head:,} events: s to /health/ready (baseline: empty)",
            ready_s, base_s, "<= 2 s", ready_s <= 2),
        Row("B9", "s from restart to every projector at the head (no replay)", resumed_s,
            base_s, "<= 2 s", resumed_s <= 2),
        Row("B9", "cold start: s until every projector reached the head (information)", cold,
            0, "", True),
    ]  # fmt: skip

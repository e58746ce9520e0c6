"""B6: rebuild rate of each projection over N stored events, into the PostgreSQL read store.

Baseline in the same run: a raw scan of the event table, decoding included
(read in batches and turned into published events), i.e. the cost of reading
alone. Each measurement runs in a process of its own, so that its peak RSS
growth (VmHWM after minus VmRSS before) is its own. Events are appended straight
through the event store adapter (bench/corpus.py).

    .venv/bin/python -m bench.rebuild [--events 100000] [--batch-size 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.corpus import drop_database, seed
from bench.rows import Context, Row, Series
from cli.event_source import PublishedLog
from common.heap import freeze_long_lived
from common.logging import configure_logging
from common.settings import Settings
from events.catalog import default_registry
from events.codec import EventCodec
from projections.catalog import NAMES, applier_factory
from projections.ports import NoCache
from projections.rebuild import Rebuild
from read_side.postgres import PostgresReadStore
from write_side.bootstrap import bootstrap

SCAN = "scan"
"""The baseline's name where a projection's would be."""


@dataclass
class Measured:
    name: str
    events: int
    seconds: float
    rss_growth_mb: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _status_kb(field: str) -> int:
    """A field of /proc/self/status in kB: VmRSS now, VmHWM the peak so far."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


async def scan(log: PublishedLog, batch_size: int) -> int:
    position, count = 0, 0
    while True:
        events, after = await log.read_all(position, batch_size)
        if after == position:
            return count
        count += len(events)
        position = after


async def measure_here(dsn: str, name: str, batch_size: int) -> Measured:
    """Scans (name ``scan``) or rebuilds one projection in this process."""
    settings = Settings(postgres_dsn=dsn, log_level="WARNING")
    write_side = bootstrap(settings)
    try:
        log = PublishedLog(write_side.store, EventCodec(default_registry()))
        await log.head()  # connected before the RSS baseline
        rss_before = _status_kb("VmRSS")
        if name == SCAN:
            started = time.perf_counter()
            events = await scan(log, batch_size)
            seconds = time.perf_counter() - started
        else:
            store = await PostgresReadStore.connect(dsn, schema=f"bench_{name}")
            rebuild = Rebuild(
                name, applier_factory(name, store, log, NoCache()), store,
                batch_size=batch_size, switch_timeout=0, grace_seconds=0,
                after_batch=freeze_long_lived,  # as cli/rebuild.py does
            )  # fmt: skip
            try:
                report = await rebuild.run()
            finally:
                await store.close()
            events, seconds = report.events, report.seconds
        return Measured(name, events, seconds, (_status_kb("VmHWM") - rss_before) / 1024)
    finally:
        write_side.close()


def measure_isolated(dsn: str, name: str, batch_size: int) -> Measured:
    """measure_here in a fresh interpreter; its JSON is the last line it prints."""
    output = subprocess.run(
        [sys.executable, "-m", "bench.rebuild", "--measure", name, "--dsn", dsn,
         "--batch-size", str(batch_size)],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1],
    ).stdout  # fmt: skip
    return Measured(**json.loads(output.strip().splitlines()[-1]))


def b6(ctx: Context) -> list[Row]:
    """Rebuild of every projection vs a raw scan + decode of the event table."""
    head = ctx.corpus.grow_to(ctx.args.events_b6)
    runs: dict[str, list[Measured]] = {name: [] for name in (SCAN, *NAMES)}
    for run in range(ctx.args.repeat):
        for name in runs:
            runs[name].append(measure_isolated(ctx.corpus.dsn, name, 1000))
            print(f"  run {run + 1}: {name} {runs[name][-1].rate:,.0f} events/s, "
                  f"RSS +{runs[name][-1].rss_growth_mb:,.0f} MB")  # fmt: skip
    rate = {name: statistics.median(m.rate for m in ms) for name, ms in runs.items()}
    grown = {name: statistics.median(m.rss_growth_mb for m in ms) for name, ms in runs.items()}
    rows = []
    for name in NAMES:
        ctx.series.append(Series(f"B6 rebuild {name}", "run", "events/s",
                                 [m.rate for m in runs[name]]))  # fmt: skip
        rows += [
            Row("B6", f"rebuild {name} events/s over {head:,} vs raw scan + decode",
                rate[name], rate[SCAN], ">= 30%", rate[name] >= 0.3 * rate[SCAN]),
            Row("B6", f"rebuild {name} peak RSS growth MB (baseline: the scan's)",
                grown[name], grown[SCAN], "<= 300", grown[name] <= 300),
        ]  # fmt: skip
    ctx.series.append(Series("B6 raw scan + decode", "run", "events/s",
                             [m.rate for m in runs[SCAN]]))  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--measure", help="internal: measure one (scan or a projection)")
    parser.add_argument("--dsn", help="internal: the database --measure reads")
    args = parser.parse_args()
    configure_logging("WARNING")
    if args.measure:
        measured = asyncio.run(measure_here(args.dsn, args.measure, args.batch_size))
        print(json.dumps(asdict(measured)))
        return
    name = f"bench_rebuild_{uuid.uuid4().hex[:8]}"
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    write_side = bootstrap(Settings(postgres_dsn=dsn, log_level="WARNING"))
    try:
        started = time.perf_counter()
        seed(write_side.store, args.events)
        print(f"seeded {write_side.store.head():,} events in {time.perf_counter() - started:.1f} s")
        base = measure_isolated(dsn, SCAN, args.batch_size)
        print(f"{'baseline: raw scan + decode':<32}{base.events:>9,} events {base.rate:>10,.0f}"
              f" events/s   peak RSS +{base.rss_growth_mb:,.0f} MB")  # fmt: skip
        for projection in NAMES:
            m = measure_isolated(dsn, projection, args.batch_size)
            share = m.rate / base.rate
            print(
                f"{'rebuild ' + projection:<32}{m.events:>9,} events {m.rate:>10,.0f} events/s"
                f"   {share:>5.0%} of baseline   peak RSS +{m.rss_growth_mb:,.0f} MB"
            )
    finally:
        write_side.close()
        drop_database(name)


if __name__ == "__main__":
    main()

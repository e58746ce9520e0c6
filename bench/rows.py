"""What a benchmark hands back: table rows, plus the latencies and samples for the chart."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import psycopg

from bench.corpus import ADMIN, Corpus
from common.settings import Settings

INFORMATION = "-"
"""A row's target when it has none: a figure shown for context, neither passed nor failed."""


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


@dataclass
class Latency:
    """Percentiles of one measured thing (ours or a baseline), in milliseconds."""

    label: str
    p50_ms: float
    p99_ms: float


@dataclass
class Series:
    """Throughput samples: one per run (``per="run"``) or one per second of a run."""

    label: str
    per: Literal["run", "second"]
    unit: str
    values: list[float]


@dataclass
class Context:
    """Everything a benchmark function gets; it appends to ``latencies`` and ``series``."""

    args: argparse.Namespace
    settings: Settings
    dsn: str
    env: dict[str, str]
    corpus: Corpus
    """The seeded database B6 and B8 share, grown on first use."""
    latencies: list[Latency] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)


@contextlib.contextmanager
def isolated(ctx: Context, label: str) -> Iterator[Context]:
    """The run's context with a database and namespace of ``label``'s own, dropped after.

    A fresh database's projectors start from position 0; on the shared database they
    would first catch up with every earlier benchmark's events, and measure that
    instead of the load.
    """
    from write_side.bootstrap import bootstrap

    name = f"{ctx.settings.namespace}_{label}_{uuid.uuid4().hex[:4]}"
    dsn = ctx.dsn.rsplit("/", 1)[0] + f"/{name}"
    settings = ctx.settings.model_copy(update={"postgres_dsn": dsn, "namespace": name})
    env = ctx.env | {"TASKTRAIL_POSTGRES_DSN": dsn, "TASKTRAIL_NAMESPACE": name,
                     "BENCH_DSN": dsn}  # fmt: skip
    bootstrap(settings).close()
    try:
        yield dataclasses.replace(ctx, settings=settings, dsn=dsn, env=env)
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def own_database(bench: Callable[[Context], list[Row]]) -> Callable[[Context], list[Row]]:
    """Runs ``bench`` in an ``isolated`` context named after it."""

    @functools.wraps(bench)
    def run(ctx: Context) -> list[Row]:
        with isolated(ctx, bench.__name__) as own:
            return bench(own)

    return run

"""What a benchmark hands back: table rows, plus the latencies and samples for the chart."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Literal

from bench.corpus import Corpus
from common.settings import Settings


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

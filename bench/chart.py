"""A PNG of a run next to its JSON, so a regression shows without reading numbers."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")  # no display on the benchmark machines

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import LogFormatter

from bench.rows import Latency, Series


def draw(path: Path, latencies: list[Latency], series: list[Series], *, title: str) -> Path | None:
    """Latency percentiles as bars, throughput samples as lines; None if nothing to draw."""
    per_second = [s for s in series if s.per == "second" and s.values]
    per_run = [s for s in series if s.per == "run" and s.values]
    panels = [p for p in (latencies, per_second, per_run) if p]
    if not panels:
        return None
    figure, axes = plt.subplots(len(panels), 1, figsize=(11, 4.2 * len(panels)), squeeze=False)
    slots = iter(axes[:, 0])
    if latencies:
        _latencies(next(slots), latencies)
    if per_second:
        _over_time(next(slots), per_second, "seconds since start", "throughput while running")
    if per_run:
        _over_time(next(slots), per_run, "run", "throughput per run (the table shows medians)")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _latencies(ax: Axes, latencies: list[Latency]) -> None:
    positions = range(len(latencies))
    width = 0.4
    p50 = ax.bar([x - width / 2 for x in positions], [x.p50_ms for x in latencies], width,
                 label="p50")  # fmt: skip
    p99 = ax.bar([x + width / 2 for x in positions], [x.p99_ms for x in latencies], width,
                 label="p99")  # fmt: skip
    for bars in (p50, p99):
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(list(positions), [x.label for x in latencies], rotation=15, ha="right",
                  fontsize=8)  # fmt: skip
    ax.set_ylabel("ms")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(LogFormatter())  # plain numbers, not 2x10^0
    ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
    ax.set_title("latency percentiles (log scale)")
    ax.legend()


def _over_time(ax: Axes, series: list[Series], x_label: str, title: str) -> None:
    colors = [plt.get_cmap("tab20")(i) for i in range(20)]  # 10 default ones repeat past ten
    for i, s in enumerate(series):
        start = 1  # runs are counted from 1; a per-second sample covers the second before
        ax.plot(range(start, start + len(s.values)), s.values, marker="os^v"[i // 10 % 4],
                markersize=3, color=colors[i % len(colors)],
                label=f"{s.label} ({s.unit})")  # fmt: skip
    longest = max(len(s.values) for s in series)
    if longest <= 10:  # a few runs: whole numbers, and room around a single one
        ax.set_xticks(range(1, longest + 1))
        ax.set_xlim(0.5, longest + 0.5)
    ax.set_xlabel(x_label)
    ax.set_ylabel("per second")
    positive = [v for s in series for v in s.values if v > 0]
    if positive and max(positive) > 20 * min(positive):  # e.g. a scan beside req/s
        ax.set_yscale("log")
        ax.set_ylabel("per second (log scale)")
    else:
        ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def main() -> None:
    """Redraws the chart of a results JSON: ``python -m bench.chart RESULTS.json``."""
    import json
    import sys

    path = Path(sys.argv[1])
    results = json.loads(path.read_text())
    drawn = draw(path.with_suffix(".png"),
                 [Latency(**x) for x in results.get("latencies", [])],
                 [Series(**x) for x in results.get("series", [])],
                 title=f"tasktrail benchmarks {path.stem}")  # fmt: skip
    print(drawn or "nothing to draw")


if __name__ == "__main__":
    main()

"""``tasktrail rebuild``: replaces projections with fresh generations, live."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import asdict

import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from cli.event_source import PublishedLog
from cli.processes import open_read_side, open_read_store
from common.heap import freeze_long_lived
from common.settings import Settings
from events.catalog import default_registry
from events.codec import EventCodec
from projections.catalog import applier_factory
from projections.rebuild import Rebuild, RebuildReport
from write_side.bootstrap import WriteSide
from write_side.postgres import advisory_lock


class RebuildRunning(Exception):
    """Another rebuild of the same projection holds its lock."""


async def rebuild_all(
    settings: Settings,
    write_side: WriteSide,
    names: Sequence[str],
    *,
    dry_run: bool,
    batch_size: int,
    console: Console | None,
) -> list[RebuildReport]:
    """Rebuilds each projection in turn under its lock; ``console`` shows progress."""
    store = await open_read_store(settings)
    read_side = await open_read_side(settings, store)
    source = PublishedLog(write_side.store, EventCodec(default_registry()))
    reports = []
    try:
        for name in names:
            with advisory_lock(
                settings.postgres_dsn, f"{settings.namespace}.rebuild.{name}"
            ) as mine:
                if not mine:
                    raise RebuildRunning(f"a rebuild of {name} is already running; try again later")
                rebuild = Rebuild(
                    name,
                    applier_factory(name, store, source, read_side.cache),
                    store,
                    batch_size=batch_size,
                    after_batch=freeze_long_lived,
                )
                reports.append(await _run(rebuild, write_side, dry_run, console))
    finally:
        await read_side.cache.close()
        await store.close()
    return reports


async def _run(
    rebuild: Rebuild, write_side: WriteSide, dry_run: bool, console: Console | None
) -> RebuildReport:
    if console is None:
        return await rebuild.run(dry_run=dry_run)
    head = await asyncio.to_thread(write_side.store.head)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("positions · {task.fields[events]} events · {task.fields[rate]} events/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(
            f"{rebuild.name}: replaying", total=max(head, 1), events=0, rate="-"
        )
        rebuild.on_phase = lambda phase: progress.update(
            task, description=f"{rebuild.name}: {phase}"
        )

        def advance(position: int, events: int) -> None:
            elapsed = progress.tasks[task].elapsed or 0
            rate = f"{events / elapsed:,.0f}" if elapsed else "-"
            total = max(position, progress.tasks[task].total or 0)
            progress.update(task, completed=position, total=total, events=events, rate=rate)

        report = await rebuild.run(dry_run=dry_run, progress=advance)
        progress.update(task, description=f"{rebuild.name}: done")
    return report


def summary(reports: list[RebuildReport], dry_run: bool) -> Table:
    table = Table(title="rebuild (dry run: nothing switched)" if dry_run else "rebuild")
    for column in ("projection", "generation", "events", "seconds", "events/s", "switched by",
                   "parity", "old generation"):  # fmt: skip
        table.add_column(column)
    for r in reports:
        parity = "equal" if r.parity.equal else f"{len(r.parity.differences)} differences"
        counts = ", ".join(f"{k} {a}→{b}" for k, (a, b) in r.parity.counts.items() if a != b)
        table.add_row(
            r.projection,
            f"{r.old_generation} → {r.new_generation}",
            f"{r.events:,}",
            f"{r.seconds:.2f}",
            f"{r.events_per_second:,.0f}",
            r.switched_by,
            parity + (f" (counts: {counts})" if counts else ""),
            "dropped" if r.dropped_old else "kept",
        )
    return table


def as_json(reports: list[RebuildReport]) -> bytes:
    documents = [asdict(r) | {"events_per_second": round(r.events_per_second, 1)} for r in reports]
    return orjson.dumps(documents, option=orjson.OPT_INDENT_2)

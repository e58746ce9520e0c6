"""``tasktrail status``: how far the relay and each projector are behind the event store.

The event store and RabbitMQ can be asked from any process, and so can the read
store, which holds the projectors' checkpoints, generations and blocked streams.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import aio_pika
import orjson
import psycopg
import typer
from eventsourcing.persistence import PersistenceError
from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from cli.processes import open_read_store
from common.settings import Settings
from projections.catalog import NAMES
from projections.dead_letters import count_dead_letters
from projections.tracking import Tracking
from read_side import store as read_store
from read_side.generations import Generations
from read_side.store import ReadStore
from write_side.bootstrap import WriteSide, bootstrap
from write_side.event_store import StoreUnavailable
from write_side.postgres import PostgresEventStore

_UNREADABLE = (StoreUnavailable, read_store.StoreUnavailable)


class StatusFailed(Exception):
    """The status cannot be read; the message says why."""


@dataclass(frozen=True, slots=True)
class ProjectorStatus:
    """dead_letters is None without RabbitMQ."""

    name: str
    generation: int | None = None
    next_generation: int | None = None
    """A generation a rebuild has proposed and the projector is catching up."""
    checkpoint: int | None = None
    lag_events: int | None = None
    lag_seconds: float | None = None
    """How much older the event at the checkpoint is than the head event (0: caught up)."""
    blocked_streams: int | None = None
    dead_letters: int | None = None


@dataclass(frozen=True, slots=True)
class Status:
    head: int
    relay_position: int
    relay_lag: int
    rabbitmq: Literal["ok", "unavailable"]
    projectors: list[ProjectorStatus]
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))


async def gather_status(settings: Settings, write_side: WriteSide, store: ReadStore) -> Status:
    events = write_side.store
    head = await asyncio.to_thread(events.head)
    relay = await asyncio.to_thread(events.get_position, "relay")
    dead = await _dead_letter_counts(settings)
    projectors = []
    for name in NAMES:
        count = None if dead is None else dead[name]
        projectors.append(await _projector(name, store, events, head, count))
    return Status(
        head=head,
        relay_position=relay,
        relay_lag=max(0, head - relay),
        rabbitmq="unavailable" if dead is None else "ok",
        projectors=projectors,
    )


async def _projector(
    name: str, store: ReadStore, events: PostgresEventStore, head: int, dead_letters: int | None
) -> ProjectorStatus:
    generations = await Generations(store).state(name)
    tracking = Tracking(name, generations.current)
    checkpoint, _ = await tracking.checkpoint(store)
    lag = max(0, head - checkpoint)
    seconds: float | None = 0.0
    if lag:
        newest = await _occurred_at(events, head)
        reached = await _occurred_at(events, max(checkpoint, 1))
        seconds = (newest - reached).total_seconds() if newest and reached else None
    return ProjectorStatus(
        name, generations.current, generations.next, checkpoint, lag, seconds,
        await tracking.blocked_count(store), dead_letters,
    )  # fmt: skip


async def _occurred_at(events: PostgresEventStore, position: int) -> datetime | None:
    """When the event at ``position`` (or the first one after it) happened."""
    found = await asyncio.to_thread(events.read_all, position - 1, 1)
    return found[0].occurred_at if found else None


async def _dead_letter_counts(settings: Settings) -> dict[str, int] | None:
    """None when RabbitMQ cannot be reached."""
    try:
        return await count_dead_letters(
            settings.rabbitmq_url, settings.namespace, NAMES, connect_seconds=3
        )
    except (aio_pika.exceptions.AMQPError, OSError, TimeoutError):
        return None


def show_status(settings: Settings, *, watch: bool, as_json: bool) -> None:
    try:
        write_side = bootstrap(settings)
    except (psycopg.Error, PersistenceError, StoreUnavailable) as error:
        raise StatusFailed(f"cannot open the event store: {error}") from error
    try:
        asyncio.run(_show(settings, write_side, watch=watch, as_json=as_json))
    except KeyboardInterrupt:
        pass  # --watch runs until Ctrl-C
    finally:
        write_side.close()


async def _show(settings: Settings, write_side: WriteSide, *, watch: bool, as_json: bool) -> None:
    store = await open_read_store(settings)
    console = Console()
    try:
        if not watch:
            status = await gather_status(settings, write_side, store)
            if as_json:
                typer.echo(orjson.dumps(status, option=orjson.OPT_INDENT_2).decode())
            else:
                console.print(render(status))
            return
        with Live(console=console, auto_refresh=False) as live:
            while True:
                try:
                    live.update(render(await gather_status(settings, write_side, store)))
                except _UNREADABLE as error:
                    live.update(Text(f"cannot read the status now: {error}", style="red"))
                live.refresh()
                await asyncio.sleep(1)
    except _UNREADABLE as error:
        raise StatusFailed(f"cannot read the status: {error}") from error
    finally:
        await store.close()


def render(status: Status) -> Group:
    moment = status.checked_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [
        Text(f"event store head {status.head}   (checked {moment})"),
        Text(f"relay            {status.relay_position}   lag {status.relay_lag} events"),
    ]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("projector", "generation", "checkpoint", "lag (events)", "lag (s)"):
        table.add_column(column, justify="left" if column == "projector" else "right")
    table.add_column("blocked streams", justify="right")
    table.add_column("dead letters", justify="right")
    for p in status.projectors:
        generation = _cell(p.generation)
        if p.next_generation is not None:
            generation += f" → {p.next_generation} (rebuilding)"
        seconds = None if p.lag_seconds is None else f"{p.lag_seconds:.1f}"
        dead = "unavailable" if p.dead_letters is None else str(p.dead_letters)
        table.add_row(
            p.name, generation, _cell(p.checkpoint), _cell(p.lag_events), _cell(seconds),
            _cell(p.blocked_streams), Text(dead, style="red" if p.dead_letters else ""),
        )  # fmt: skip
    notes = []
    if status.rabbitmq == "unavailable":
        notes.append(Text("RabbitMQ cannot be reached: dead letters unknown", style="yellow"))
    return Group(*lines, table, *notes)


def _cell(value: object) -> str:
    return "n/a" if value is None else str(value)

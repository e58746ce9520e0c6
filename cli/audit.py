"""``tasktrail audit``: tables for people, or one JSON document for scripts.

The logic lives in write_side.audit; this module opens the event store, asks it,
and renders the answer. JSON goes to stdout alone, so it can be piped to jq.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
import psycopg
import typer
from eventsourcing.persistence import PersistenceError
from rich import box
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from common.settings import Settings
from write_side.audit import AuditEntry, AuditTrail, audit_stream, events_by_correlation
from write_side.bootstrap import bootstrap
from write_side.event_store import StoreUnavailable
from write_side.postgres import PostgresEventStore

CORRELATION_LIMIT = 1000
_MAX_VALUE = 40
_WIDE = 120


class AuditFailed(Exception):
    """The audit cannot answer; the message says why."""


@contextmanager
def _event_store(settings: Settings) -> Iterator[PostgresEventStore]:
    try:
        write_side = bootstrap(settings)
    except (psycopg.Error, PersistenceError, StoreUnavailable) as error:
        raise AuditFailed(f"cannot open the event store: {error}") from error
    try:
        yield write_side.store
    except StoreUnavailable as error:
        raise AuditFailed(f"cannot read the event store: {error}") from error
    finally:
        write_side.close()


def show_stream(
    settings: Settings,
    stream_id: UUID,
    *,
    as_of: datetime | None,
    version: int | None,
    as_json: bool,
) -> None:
    with _event_store(settings) as store:
        trail = audit_stream(store, stream_id, as_of=as_of, version=version)
    if trail is None:
        raise AuditFailed(f"no events for stream {stream_id}")
    if as_json:
        _print_json(
            {
                "stream_id": trail.stream_id,
                "kind": trail.kind,
                "cut": {"version": version, "as_of": as_of},
                "latest_version": trail.latest_version,
                "events": trail.entries,
                "state": trail.state,
            }
        )
        return
    _render_trail(Console(), trail, as_of)


def show_correlation(settings: Settings, correlation_id: str, *, as_json: bool) -> None:
    with _event_store(settings) as store:
        entries = events_by_correlation(store, correlation_id, limit=CORRELATION_LIMIT)
    if not entries:
        raise AuditFailed(f"no events with correlation id {correlation_id!r}")
    if len(entries) == CORRELATION_LIMIT:
        Console(stderr=True).print(f"showing the first {CORRELATION_LIMIT} events only")
    if as_json:
        _print_json({"correlation_id": correlation_id, "events": entries})
        return
    _print_events(Console(), f"Events of request {correlation_id}", entries, across_streams=True)


def _render_trail(console: Console, trail: AuditTrail, as_of: datetime | None) -> None:
    if not trail.entries:
        moment = _time(as_of) if as_of is not None else "then"
        console.print(
            f"Stream {trail.stream_id} ({trail.kind}) had no events as of {moment}: "
            f"its first event is later."
        )
        return
    title = f"Stream {trail.stream_id} ({trail.kind})"
    _print_events(console, title, trail.entries, across_streams=False)
    last = trail.entries[-1]
    title = f"State as of version {last.version} ({_time(last.occurred_at)})"
    if trail.state is None:
        console.print(Panel("no state could be rebuilt from these events", title=title))
    else:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for key, value in trail.state.items():
            grid.add_row(Text(key), _text(value))
        console.print(Panel(grid, title=title, title_align="left", expand=False))
    if last.version < trail.latest_version:
        console.print(f"The stream is now at version {trail.latest_version}.")


def _print_events(
    console: Console, title: str, entries: list[AuditEntry], *, across_streams: bool
) -> None:
    """One row per event; below _WIDE columns, the event's details stack in one cell."""
    wide = console.width >= _WIDE
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("position", justify="right", no_wrap=True)
    table.add_column("version", justify="right", no_wrap=True)
    # A stream's events share a stream id; one request's events share a correlation id.
    label = "stream" if across_streams else "correlation id"
    if wide:
        table.add_column("time (UTC)", no_wrap=True)
        table.add_column("type", no_wrap=True)
        table.add_column("actor", overflow="fold", min_width=5)
        table.add_column(label, overflow="fold", min_width=8)
        table.add_column("changes", overflow="fold", min_width=20)
    else:
        table.add_column("event", overflow="fold")
    for entry in entries:
        time, kind, actor = _time(entry.occurred_at), Text(entry.type, style="bold"), entry.actor
        other = str(entry.stream_id) if across_streams else entry.correlation_id
        changes = Text(", ".join(f"{k}={_short(v)}" for k, v in entry.changes.items()))
        head = [Text(str(entry.position)), Text(str(entry.version))]
        if wide:
            table.add_row(*head, Text(time), kind, _text(actor), _text(other), changes)
        else:
            details = Text(f"{time}  actor {actor or '-'}  {label} {other or '-'}", style="dim")
            table.add_row(*head, Text("\n").join([kind, details, changes]))
    console.print(table)


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _text(value: Any) -> Text:
    """User-supplied text as a rich Text, so brackets in it are never read as markup."""
    if value is None:
        return Text("-", style="dim")
    return Text(value if isinstance(value, str) else orjson.dumps(value).decode())


def _print_json(document: dict[str, Any]) -> None:
    typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())

"""``tasktrail dead-letters``: what the projectors gave up on, and how to resolve it.

``list`` and ``show`` only read RabbitMQ. ``retry`` and ``discard`` change read
models, so they need the read store the projectors write: MongoDB. The logic
lives in projections.dead_letters; this module wires it and renders it.
"""

from __future__ import annotations

import asyncio
import getpass
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.text import Text

if TYPE_CHECKING:
    from common.settings import Settings
    from projections.applier import Applier
    from projections.dead_letters import DeadLetter, RetryResult
    from read_side.store import ReadStore

T = TypeVar("T")
AppliersFor = Callable[[str], Awaitable["Applier"]]

app = typer.Typer(
    name="dead-letters",
    help="Inspect and resolve dead letters: events a projector could not apply.\n\n"
    "A dead letter holds its stream back in that projector until it is retried or "
    "discarded; the projector goes on with every other stream.\n\n"
    "Examples:\n\n"
    "  tasktrail dead-letters list\n\n"
    "  tasktrail dead-letters retry --all --projector tasks",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
MessageId = Annotated[str, typer.Argument(metavar="MESSAGE_ID", help="The message (event) id.")]
ProjectorOption = Annotated[
    str | None,
    typer.Option("--projector", "-p", metavar="NAME", help="Only this projector's queue."),
]
_ERROR_WIDTH = 60
_WIDE = 150
_COLUMNS = ("projector", "message id", "routing key", "stream", "version", "dead-lettered at")


class Failed(Exception):
    """The command cannot go on; the message says why."""


@app.command("list")
def list_letters(
    projector: Annotated[
        str | None, typer.Argument(metavar="[PROJECTOR]", help="users, tasks, analytics or audit.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list.")] = False,
) -> None:
    """List dead letters, oldest first; listing leaves them in their queues.

    Examples:
      tasktrail dead-letters list
      tasktrail dead-letters list tasks --json
    """
    letters = _run(_letters(_settings(), projector))
    if as_json:
        import orjson

        rows = [{k: v for k, v in asdict(x).items() if k != "body"} for x in letters]
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2, default=str).decode())
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    wide = console.width >= _WIDE  # below, each letter's details stack in one cell
    title = f"{len(letters)} dead letter(s)"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in (*(_COLUMNS if wide else ("dead letter",)), "error"):
        table.add_column(column, overflow="fold", no_wrap=column != "error")
    for x in letters:
        error = x.error if len(x.error) <= _ERROR_WIDTH else x.error[: _ERROR_WIDTH - 1] + "…"
        at = x.dead_lettered_at.strftime("%Y-%m-%dT%H:%M:%SZ") if x.dead_lettered_at else "-"
        stream, version = x.stream_id or "-", str(x.stream_version or "-")
        cells = [x.projector, x.message_id, x.routing_key, stream, version, at]
        if not wide:
            cells = [f"{x.message_id}\n{x.projector} {x.routing_key} at {at}\n{stream} v{version}"]
        table.add_row(*(Text(cell) for cell in [*cells, error]))
    console.print(table)


@app.command()
def show(message_id: MessageId, projector: ProjectorOption = None) -> None:
    """Show a dead letter's headers (its error among them) and its event as JSON.

    Examples:
      tasktrail dead-letters show 0f8e2c1a-6b7d-4e9f-8a3b-2c1d0e9f8a7b
      tasktrail dead-letters show 0f8e2c1a-6b7d-4e9f-8a3b-2c1d0e9f8a7b --projector tasks
    """
    import orjson
    from rich.console import Console
    from rich.json import JSON

    found = [x for x in _run(_letters(_settings(), projector)) if x.message_id == message_id]
    if not found:
        raise _fail(f"no dead letter {message_id}")
    console = Console()
    for x in found:
        console.rule(f"dead letter {x.message_id} of {x.projector}", align="left")
        for key, value in sorted(x.headers.items()):
            console.print(Text.assemble((key, "bold"), ": ", str(value)), highlight=False)
        try:
            console.print(JSON.from_data(orjson.loads(x.body)))
        except orjson.JSONDecodeError:
            console.print(x.body.decode(errors="replace"), markup=False)


@app.command()
def retry(
    message_id: Annotated[
        str | None, typer.Argument(metavar="[MESSAGE_ID]", help="The message (event) id.")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Retry every dead letter.")] = False,
    projector: ProjectorOption = None,
) -> None:
    """Apply dead letters again, once their cause is fixed, and what waited behind.

    The stream's held-back events follow, in order, from the event store; then
    the message leaves the queue. A letter that fails again stays, and its
    stream stays held back.

    Examples:
      tasktrail dead-letters retry 0f8e2c1a-6b7d-4e9f-8a3b-2c1d0e9f8a7b
      tasktrail dead-letters retry --all --projector tasks
    """
    if (message_id is None) == (not every):
        raise typer.BadParameter("give a MESSAGE_ID or --all (one of them)")
    settings = _settings()
    results = _run(_retry(settings, projector, None if every else {message_id or ""}))
    if message_id is not None and not results:
        raise _fail(f"no dead letter {message_id}")
    for r in results:
        what = f"{r.letter.message_id} ({r.letter.projector}, {r.letter.routing_key})"
        if r.error is None:
            typer.echo(f"retried {what}: applied, then {r.released} waiting event(s)")
        else:
            typer.echo(f"failed again {what}: {r.error}; it stays in the queue", err=True)
    if not results:
        typer.echo("no dead letters")
    if any(r.error is not None for r in results):
        raise typer.Exit(1)


@app.command()
def discard(
    message_id: MessageId,
    reason: Annotated[str, typer.Option("--reason", help="Why: kept with the record.")],
    projector: ProjectorOption = None,
) -> None:
    """Give up on a dead letter: record who and why, skip it, go on with its stream.

    The record (who, when, why, the event and its error) goes to the read
    store's dead_letter_discards table; the stream's later events are then
    applied in order.

    Examples:
      tasktrail dead-letters discard 0f8e2c1a-6b7d-4e9f-8a3b-2c1d0e9f8a7b --reason "bad import"
      tasktrail dead-letters discard 0f8e2c1a-6b7d-4e9f-8a3b-2c1d0e9f8a7b -p tasks --reason dup
    """
    settings = _settings()
    holders = {
        x.projector for x in _run(_letters(settings, projector)) if x.message_id == message_id
    }
    if not holders:
        raise _fail(f"no dead letter {message_id}")
    if len(holders) > 1:
        raise _fail(f"{message_id} is a dead letter of {', '.join(sorted(holders))}; "
                    "choose one with --projector")  # fmt: skip
    letter = _run(_discard(settings, holders.pop(), message_id, reason))
    went_on = f"; stream {letter.stream_id} went on after version {letter.stream_version}"
    typer.echo(f"discarded {letter.message_id} ({letter.projector}, {letter.routing_key})"
               f"{went_on if letter.stream_id else ''}")  # fmt: skip


async def _letters(settings: Settings, projector: str | None) -> list[DeadLetter]:
    from projections.dead_letters import list_dead_letters

    url, ns = settings.rabbitmq_url, settings.namespace
    return [x for name in _names(projector) for x in await list_dead_letters(url, ns, name)]


async def _retry(
    settings: Settings, projector: str | None, ids: set[str] | None
) -> list[RetryResult]:
    from projections.dead_letters import retry as retry_letters

    results: list[RetryResult] = []
    async with _appliers(settings) as (applier_for, _):
        for name in _names(projector):
            applier = await applier_for(name)
            url, ns = settings.rabbitmq_url, settings.namespace
            results += await retry_letters(url, ns, name, applier, ids)
    return results


async def _discard(settings: Settings, projector: str, message_id: str, reason: str) -> DeadLetter:
    from projections.dead_letters import discard as discard_letter

    try:
        by = f"{getpass.getuser()}@{socket.gethostname()}"
    except (OSError, KeyError):
        by = f"unknown@{socket.gethostname()}"
    async with _appliers(settings) as (applier_for, store):
        applier = await applier_for(projector)
        return await discard_letter(
            settings.rabbitmq_url, settings.namespace, projector, applier, message_id,
            store=store, reason=reason, discarded_by=by,
        )  # fmt: skip


@asynccontextmanager
async def _appliers(settings: Settings) -> AsyncIterator[tuple[AppliersFor, ReadStore]]:
    """Appliers of each projection's current generation, as the live projectors use."""
    from cli.event_source import PublishedLog
    from cli.processes import open_read_store
    from events.catalog import default_registry
    from events.codec import EventCodec
    from projections.catalog import applier_factory
    from read_side.cache import DocumentCache
    from read_side.generations import Generations
    from write_side.bootstrap import bootstrap

    async with AsyncExitStack() as stack:
        write_side = bootstrap(settings)
        stack.callback(write_side.close)
        store = await open_read_store(settings)
        stack.push_async_callback(store.close)
        cache = await DocumentCache.connect(settings.redis_url, settings.namespace)
        stack.push_async_callback(cache.close)
        source = PublishedLog(write_side.store, EventCodec(default_registry()))

        async def applier_for(name: str) -> Applier:
            generation = await Generations(store).current(name)
            return applier_factory(name, store, source, cache)(generation)

        yield applier_for, store


def _names(projector: str | None) -> tuple[str, ...]:
    from projections.catalog import NAMES

    if projector is not None and projector not in NAMES:
        raise Failed(f"unknown projector {projector!r}; choose from {', '.join(NAMES)}")
    return NAMES if projector is None else (projector,)


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Runs the work; an unreachable service or a refusal becomes exit code 1."""
    import aio_pika
    import psycopg
    from eventsourcing.persistence import PersistenceError

    from projections.dead_letters import DeadLetterNotFound, DiscardFailed
    from projections.ports import SourceUnavailable
    from read_side.store import StoreUnavailable as ReadStoreUnavailable
    from write_side.event_store import StoreUnavailable

    try:
        return asyncio.run(work)
    except aio_pika.exceptions.AMQPError as error:
        raise _fail(f"RabbitMQ failed: {error!r}") from None
    except (OSError, TimeoutError) as error:
        raise _fail(f"cannot reach a service: {error!r}") from None
    except (
        psycopg.Error,
        PersistenceError,
        StoreUnavailable,
        ReadStoreUnavailable,
        SourceUnavailable,
    ) as error:
        raise _fail(f"cannot reach a store: {error}") from None
    except (Failed, DeadLetterNotFound, DiscardFailed) as error:
        raise _fail(str(error)) from None


def _settings() -> Settings:
    from cli.main import _settings as settings_from_env

    return settings_from_env()


def _fail(message: str) -> typer.Exit:
    from rich.markup import escape

    from cli.main import _fail as fail

    return fail(escape(message))  # errors quote data: "[x]" in it is text, not markup

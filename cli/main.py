"""The ``tasktrail`` console script."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.markup import escape

from cli.dead_letters import app as dead_letters_app
from common.logging import configure_logging
from common.settings import Settings
from events.users import Role

app = typer.Typer(
    name="tasktrail",
    help="tasktrail: an event-sourced CQRS service for users, tasks and activity analytics.\n\n"
    "Configuration comes from TASKTRAIL_* environment variables (see the README).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
err = Console(stderr=True)


class Part(StrEnum):
    ALL = "all"
    COMMANDS = "commands"
    QUERIES = "queries"


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    return settings


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/] {escape(message)}")  # messages may quote [brackets]
    return typer.Exit(1)


@app.command()
def serve(
    part: Annotated[Part, typer.Argument(help="What to serve.")] = Part.ALL,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    with_projectors: Annotated[
        bool,
        typer.Option(
            "--with-projectors",
            help="With queries: also run every projector in this process (queries then "
            "wake as soon as a projector commits, instead of polling).",
        ),
    ] = False,
) -> None:
    """Serve the HTTP API.

    [b]all[/b] (the default) runs everything in one process for a laptop: both APIs on one
    port (GET/HEAD to the queries, the rest to the commands), the relay and every
    projector. [b]commands[/b] and [b]queries[/b] serve one API each, for production;
    [b]queries --with-projectors[/b] also runs the projectors, with the relay left to
    'tasktrail relay' (the fault tests kill each process on its own).

    Examples:
      tasktrail serve
      tasktrail serve commands --host 0.0.0.0 --port 8001
      tasktrail serve queries --with-projectors --port 8002
    """
    from cli import serving

    settings = _settings()
    if with_projectors and part is not Part.QUERIES:
        raise _fail("--with-projectors goes with 'serve queries' only")
    body = {
        Part.ALL: serving.serve_all,
        Part.COMMANDS: serving.serve_commands,
        Part.QUERIES: serving.serve_queries_with_projectors
        if with_projectors
        else serving.serve_queries,
    }[part]
    try:
        _run_long(body(settings, host, port))
    except serving.StartupFailed as error:
        raise _fail(str(error)) from None


def _run_long(main: Coroutine[Any, Any, None]) -> None:
    """Runs a serving process's event loop on uvloop: uvicorn picks it for the servers it
    starts itself, but ours start inside asyncio.run, which gave them asyncio's own loop."""
    import uvloop  # only the serving commands need it

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


@app.command()
def relay() -> None:
    """Run the relay alone: publish stored events to RabbitMQ, in order, at least once.

    Example: tasktrail relay
    """
    from cli import serving

    try:
        _run_long(serving.run_background(_settings(), relay=True, projectors=()))
    except (serving.StartupFailed, serving.BackgroundDied) as error:
        raise _fail(str(error)) from None


@app.command()
def project(
    names: Annotated[
        list[str] | None, typer.Argument(help="Projectors to run (default: all).")
    ] = None,
) -> None:
    """Run projectors alone: consume their queues and update the read models.

    Examples:
      tasktrail project
      tasktrail project users tasks
    """
    from cli import serving
    from projections.catalog import NAMES

    settings = _settings()
    unknown = sorted(set(names or ()) - set(NAMES))
    if unknown:
        raise _fail(f"unknown projector(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    try:
        _run_long(serving.run_background(settings, relay=False, projectors=tuple(names or NAMES)))
    except (serving.StartupFailed, serving.BackgroundDied) as error:
        raise _fail(str(error)) from None


@app.command()
def rebuild(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Projections to rebuild: users tasks analytics audit."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Rebuild every projection.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Build and compare, but do not switch; then discard.")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=100_000, help="Events per batch.")] = 1000,
    json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
) -> None:
    """Rebuild projections from the event store, with no downtime.

    Each projection is replayed from position 0 into a fresh generation of its
    tables while the live one keeps serving; once it has caught up, the live
    projector switches to it, queries follow at once, cache keys change with it, and
    the old generation is compared (counts and a sample of documents) and dropped.
    Only one rebuild of a projection runs at a time; an interrupted one leaves the
    live generation untouched, and running it again starts over.

    Examples:
      tasktrail rebuild users
      tasktrail rebuild --all --dry-run
      tasktrail rebuild tasks --batch-size 5000 --json
    """
    from rich.console import Console

    from cli.rebuild import RebuildRunning, as_json, rebuild_all, summary
    from projections.applier import ApplyFailed
    from projections.catalog import NAMES
    from projections.ports import SourceUnavailable
    from read_side.store import StoreUnavailable as ReadStoreUnavailable

    chosen = list(NAMES) if all_ else list(names or ())
    if not chosen:
        raise _fail("name the projections to rebuild, or pass --all")
    unknown = sorted(set(chosen) - set(NAMES))
    if unknown:
        raise _fail(f"unknown projection(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    settings = _settings()
    from cli.serving import StartupFailed, open_write_side

    try:
        write_side = open_write_side(settings)
    except StartupFailed as error:
        raise _fail(str(error)) from None
    console = None if json else Console(stderr=True)
    try:
        reports = asyncio.run(
            rebuild_all(
                settings, write_side, chosen, dry_run=dry_run, batch_size=batch_size,
                console=console,
            )
        )  # fmt: skip
    except RebuildRunning as error:
        raise _fail(str(error)) from None
    except ApplyFailed as failure:
        raise _fail(
            f"rebuild stopped: {failure}; the live generation is untouched. Fix the projector "
            "(or the event's handling) and run it again."
        ) from None
    except KeyboardInterrupt:
        raise _fail(
            "interrupted: the live generation is untouched; run it again to start over"
        ) from None
    except (ReadStoreUnavailable, SourceUnavailable) as error:
        raise _fail(
            f"a store went away: {error}; the live generation is untouched (unless the switch "
            "was under way: 'tasktrail status' says which is current); run it again"
        ) from None
    finally:
        write_side.close()
    if json:
        typer.echo(as_json(reports).decode())
    else:
        Console().print(summary(reports, dry_run))


def _iso_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 time; try 2025-05-01T12:00:00Z"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@app.command()
def role(
    user: Annotated[
        str, typer.Argument(help="A username, an email or a user id.", show_default=False)
    ],
    role: Annotated[Role, typer.Argument(help="The role to give.", show_default=False)],
) -> None:
    """Give a user a role: [b]admin[/] may change and read anyone's data, [b]member[/] only
    their own. The first admin is made here, as only admins may change roles over the API.
    It takes effect at the user's next login (tokens carry the role).

    Examples:
      tasktrail role alice admin
      tasktrail role alice@example.com member
    """
    from cli.roles import NoSuchUser, change_role
    from cli.serving import StartupFailed, open_write_side

    try:
        write_side = open_write_side(_settings())
    except StartupFailed as error:
        raise _fail(str(error)) from None
    try:
        changed = change_role(write_side, user, role)
    except NoSuchUser as error:
        raise _fail(str(error)) from None
    finally:
        write_side.close()
    Console().print(f"{escape(changed.username)} ({changed.id}) is now {changed.role}")


@app.command()
def audit(
    stream_id: Annotated[
        UUID | None,
        typer.Argument(
            metavar="STREAM_ID",
            help="The user, task, activity or reservation id.",
            show_default=False,
        ),
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            parser=_iso_time,
            metavar="ISO_TIME",
            help="Cut at this time (ISO 8601; without an offset, UTC).",
        ),
    ] = None,
    version: Annotated[
        int | None,
        typer.Option("--version", min=1, metavar="N", help="Cut at this stream version."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of tables.")
    ] = False,
    correlation_id: Annotated[
        str | None,
        typer.Option(
            "--correlation-id",
            metavar="ID",
            help="List every event one request caused, across streams, instead.",
        ),
    ] = None,
) -> None:
    """Audit a stream from the event store: who did what, when, and its state then.

    Prints each event (position, version, time, type, actor, correlation id, changes),
    then the user's or task's state rebuilt by replaying its events up to the cut
    (the latest event by default). Password hashes are never printed. With
    [b]--correlation-id[/b], lists every event one request (X-Request-ID) caused.

    Examples:
      tasktrail audit 5f0c6f1e-3b1a-4c8e-9d2f-7a6b5c4d3e2f
      tasktrail audit 5f0c6f1e-3b1a-4c8e-9d2f-7a6b5c4d3e2f --version 2
      tasktrail audit 5f0c6f1e-3b1a-4c8e-9d2f-7a6b5c4d3e2f --as-of 2025-05-01T12:00:00Z --json
      tasktrail audit --correlation-id 0b7e2a6c9d4f4e1a
    """
    if (stream_id is None) == (correlation_id is None):
        raise typer.BadParameter("give a STREAM_ID or --correlation-id (one of them)")
    if as_of is not None and version is not None:
        raise typer.BadParameter("--as-of and --version exclude each other; give one")
    if correlation_id is not None and (as_of is not None or version is not None):
        raise typer.BadParameter("--as-of and --version cut a stream, not a correlation id")
    from cli import audit as auditing

    settings = _settings()
    try:
        if stream_id is not None:
            auditing.show_stream(settings, stream_id, as_of=as_of, version=version, as_json=as_json)
        else:
            assert correlation_id is not None
            auditing.show_correlation(settings, correlation_id, as_json=as_json)
    except auditing.AuditFailed as error:
        raise _fail(str(error)) from None


@app.command()
def status(
    watch: Annotated[
        bool, typer.Option("--watch", help="Refresh every second until Ctrl-C.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of tables.")
    ] = False,
) -> None:
    """Show how far the relay and each projector are behind the event store.

    The event store's head, the relay's position, and for each projector: its
    generation (and the next one while a rebuild catches up), its checkpoint, its lag
    in events and in seconds, its blocked streams and its dead letters.

    Examples:
      tasktrail status
      tasktrail status --watch
      tasktrail status --json | jq '.projectors[] | {name, lag_events}'
    """
    if watch and as_json:
        raise typer.BadParameter("--watch and --json exclude each other; give one")
    from cli import status as statuses

    try:
        statuses.show_status(_settings(), watch=watch, as_json=as_json)
    except statuses.StatusFailed as error:
        raise _fail(str(error)) from None


app.add_typer(dead_letters_app)

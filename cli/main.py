"""The ``tasktrail`` console script."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from common.logging import configure_logging
from common.settings import Settings

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
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(1)


@app.command()
def serve(
    part: Annotated[Part, typer.Argument(help="What to serve.")] = Part.ALL,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the HTTP API.

    [b]all[/b] (the default) runs everything in one process for a laptop: both APIs on one
    port (GET/HEAD to the queries, the rest to the commands), the relay and every
    projector. [b]commands[/b] and [b]queries[/b] serve one API each, for production.

    Examples:
      tasktrail serve
      tasktrail serve commands --host 0.0.0.0 --port 8001
    """
    from cli import serving

    settings = _settings()
    if part is Part.QUERIES and not settings.mongo_url:
        raise _fail("serve queries needs TASKTRAIL_MONGO_URL: without it, read models live "
                    "only inside 'tasktrail serve'")  # fmt: skip
    body = {
        Part.ALL: serving.serve_all,
        Part.COMMANDS: serving.serve_commands,
        Part.QUERIES: serving.serve_queries,
    }[part]
    try:
        asyncio.run(body(settings, host, port))
    except serving.StartupFailed as error:
        raise _fail(str(error)) from None


@app.command()
def relay() -> None:
    """Run the relay alone: publish stored events to RabbitMQ, in order, at least once.

    Example: tasktrail relay
    """
    from cli import serving

    try:
        asyncio.run(serving.run_background(_settings(), relay=True, projectors=()))
    except serving.StartupFailed as error:
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
    if not settings.mongo_url:
        raise _fail("project needs TASKTRAIL_MONGO_URL: the in-process read store lives only "
                    "inside 'tasktrail serve'")  # fmt: skip
    unknown = sorted(set(names or ()) - set(NAMES))
    if unknown:
        raise _fail(f"unknown projector(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    try:
        asyncio.run(serving.run_background(settings, relay=False, projectors=tuple(names or NAMES)))
    except serving.StartupFailed as error:
        raise _fail(str(error)) from None

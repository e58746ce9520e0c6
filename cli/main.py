"""The ``tasktrail`` console script."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from common.logging import configure_logging
from common.settings import Settings

app = typer.Typer(
    name="tasktrail",
    help="tasktrail: an event-sourced CQRS service for users, tasks and activity analytics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


@app.callback()
def _main() -> None:
    """Configuration comes from TASKTRAIL_* environment variables (see README)."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the HTTP API.

    Example: tasktrail serve --port 8080
    """
    from write_side.api.app import create_command_app
    from write_side.bootstrap import bootstrap
    from write_side.event_store import StoreUnavailable

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    try:
        write_side = bootstrap(settings)
    except (StoreUnavailable, OSError, Exception) as error:
        err.print(f"[red]cannot start:[/] PostgreSQL at {settings.postgres_dsn!r}: {error}")
        raise typer.Exit(1) from None
    try:
        uvicorn.run(create_command_app(write_side), host=host, port=port, access_log=False)
    finally:
        write_side.close()

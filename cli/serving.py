"""Long-running process bodies behind the CLI commands."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence

import uvicorn
from starlette.types import ASGIApp

from cli.asgi import CombinedApp
from cli.processes import background, open_read_side, open_read_store
from common.settings import Settings
from read_side.api.app import create_query_app
from read_side.positions import LocalCheckpoints
from write_side.api.app import create_command_app
from write_side.bootstrap import WriteSide, bootstrap


class StartupFailed(Exception):
    """A dependency needed at start is missing; the message says which and how to fix it."""


def open_write_side(settings: Settings) -> WriteSide:
    try:
        return bootstrap(settings)
    except Exception as error:
        raise StartupFailed(
            f"cannot reach PostgreSQL at {settings.postgres_dsn!r}: {error}"
        ) from error


async def _serve(app: ASGIApp, host: str, port: int) -> None:
    """Serves until SIGINT/SIGTERM; uvicorn then finishes in-flight requests."""
    await uvicorn.Server(uvicorn.Config(app, host=host, port=port, access_log=False)).serve()


async def serve_commands(settings: Settings, host: str, port: int) -> None:
    write_side = open_write_side(settings)
    try:
        await _serve(create_command_app(write_side), host, port)
    finally:
        write_side.close()


async def serve_queries(settings: Settings, host: str, port: int) -> None:
    store = open_read_store(settings)
    read_side = await open_read_side(settings, store)
    try:
        await _serve(
            create_query_app(read_side, max_body_bytes=settings.max_body_bytes), host, port
        )
    finally:
        await read_side.cache.close()
        await store.close()


async def serve_all(settings: Settings, host: str, port: int) -> None:
    """Both APIs on one port, with the relay and every projector in this process."""
    write_side = open_write_side(settings)
    store = open_read_store(settings)
    checkpoints = LocalCheckpoints()
    read_side = await open_read_side(settings, store, checkpoints)
    try:
        queries = create_query_app(read_side, max_body_bytes=settings.max_body_bytes)
        commands = create_command_app(write_side, docs_prefix="/commands")
        async with background(
            settings, write_side, store, read_side.cache, on_checkpoint=checkpoints.update
        ):
            await _serve(CombinedApp(commands, queries), host, port)
    finally:
        await read_side.cache.close()
        await store.close()
        write_side.close()


async def run_background(settings: Settings, *, relay: bool, projectors: Sequence[str]) -> None:
    """Runs the relay and/or projectors until SIGINT/SIGTERM."""
    write_side = open_write_side(settings)
    store = open_read_store(settings)
    read_side = await open_read_side(settings, store)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        async with background(
            settings, write_side, store, read_side.cache, relay=relay, projectors=projectors
        ):
            await stopping.wait()
    finally:
        await read_side.cache.close()
        await store.close()
        write_side.close()

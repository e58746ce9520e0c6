"""Long-running process bodies behind the CLI commands."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from types import FrameType

import structlog
import uvicorn
from starlette.types import ASGIApp

from cli.asgi import CombinedApp
from cli.processes import background, open_read_side, open_read_store
from common.heap import freeze_long_lived
from common.settings import Settings
from common.tokens import TokenCodec, WeakSecret
from read_side.api.app import create_query_app
from read_side.positions import LocalCheckpoints
from write_side.api.app import create_command_app
from write_side.bootstrap import WriteSide, bootstrap


class BackgroundDied(Exception):
    """A relay or projector stopped on its own; the process exits so it is restarted."""


class StartupFailed(Exception):
    """A dependency needed at start is missing; the message says which and how to fix it."""


def open_write_side(settings: Settings) -> WriteSide:
    try:
        return bootstrap(settings)
    except Exception as error:
        raise StartupFailed(
            f"cannot reach PostgreSQL at {settings.postgres_dsn!r}: {error}"
        ) from error


def open_tokens(settings: Settings) -> TokenCodec:
    try:
        tokens = TokenCodec.from_settings(settings)
    except WeakSecret as error:
        raise StartupFailed(str(error)) from error
    if settings.jwt_secret is None:
        structlog.get_logger("tasktrail.auth").warning(
            "TASKTRAIL_JWT_SECRET is unset: signing tokens with a random secret of this "
            "process; tokens die with it and other processes reject them"
        )
    return tokens


GRACEFUL_SHUTDOWN_SECONDS = 20
"""How long in-flight requests may take to finish after SIGTERM before they are cancelled."""


async def _serve(app: ASGIApp, host: str, port: int) -> None:
    """Serves until SIGINT/SIGTERM; uvicorn then stops accepting and finishes in-flight
    requests (for up to GRACEFUL_SHUTDOWN_SECONDS).

    After shutting down, uvicorn raises the signal again under the handler it found;
    under the default one SIGTERM would kill the process before the caller's cleanup
    (stopping the relay and projectors, closing pools) runs and it exits 0. A handler
    that only notes the signal is therefore installed underneath it.
    """
    config = uvicorn.Config(
        app, host=host, port=port, access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )  # fmt: skip
    previous = {sig: signal.signal(sig, _noted) for sig in (signal.SIGINT, signal.SIGTERM)}
    freeze_long_lived()  # all that is built now lives as long as the process
    try:
        await uvicorn.Server(config).serve()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _noted(signum: int, frame: FrameType | None) -> None:
    """The signal has been acted on already: uvicorn has shut down."""


async def serve_commands(settings: Settings, host: str, port: int) -> None:
    tokens = open_tokens(settings)
    write_side = open_write_side(settings)
    try:
        await _serve(create_command_app(write_side, tokens), host, port)
    finally:
        write_side.close()


async def serve_queries(settings: Settings, host: str, port: int) -> None:
    tokens = open_tokens(settings)
    store = await open_read_store(settings)
    read_side = await open_read_side(settings, store)
    try:
        await _serve(
            create_query_app(read_side, tokens, max_body_bytes=settings.max_body_bytes),
            host,
            port,
        )
    finally:
        await read_side.cache.close()
        await store.close()


async def serve_queries_with_projectors(settings: Settings, host: str, port: int) -> None:
    """The query API with every projector in this process, and no relay: the relay runs
    (and dies) on its own."""
    await _serve_with_projectors(settings, host, port, commands=False)


async def serve_all(settings: Settings, host: str, port: int) -> None:
    """Both APIs on one port, with the relay and every projector in this process."""
    await _serve_with_projectors(settings, host, port, commands=True)


async def _serve_with_projectors(
    settings: Settings, host: str, port: int, *, commands: bool
) -> None:
    """The query API and every projector; with ``commands``, the command API on the same
    port and the relay too."""
    tokens = open_tokens(settings)
    write_side = open_write_side(settings)
    store = await open_read_store(settings)
    checkpoints = LocalCheckpoints()
    read_side = await open_read_side(settings, store, checkpoints)
    try:
        app: ASGIApp = create_query_app(read_side, tokens, max_body_bytes=settings.max_body_bytes)
        if commands:
            app = CombinedApp(create_command_app(write_side, tokens, docs_prefix="/commands"), app)
        async with background(
            settings, write_side, store, read_side.cache, relay=commands,
            on_checkpoint=checkpoints.update, on_replayed=freeze_long_lived,
        ):  # fmt: skip
            await _serve(app, host, port)
    finally:
        await read_side.cache.close()
        await store.close()
        write_side.close()


async def run_background(settings: Settings, *, relay: bool, projectors: Sequence[str]) -> None:
    """Runs the relay and/or projectors until SIGINT/SIGTERM, then stops them gracefully:
    the relay after its batch under way is confirmed and its position stored, each
    projector after acknowledging the batch it applied."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    write_side = open_write_side(settings)
    store = await open_read_store(settings)
    read_side = await open_read_side(settings, store)
    try:
        async with background(
            settings,
            write_side,
            store,
            read_side.cache,
            relay=relay,
            projectors=projectors,
            on_replayed=freeze_long_lived,
        ) as running:
            await _first(stopping, running.died)
        if running.died.is_set() and not stopping.is_set():
            raise BackgroundDied("a relay or projector task ended; see the log above")
    finally:
        await read_side.cache.close()
        await store.close()
        write_side.close()


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()

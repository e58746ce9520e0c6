"""The CLI's entry points."""

from __future__ import annotations

import asyncio

import uvloop

from cli.main import _run_long


def test_serving_processes_run_on_uvloop() -> None:
    """uvicorn's own loop choice does not reach servers started inside our loop."""
    loops: list[type[asyncio.AbstractEventLoop]] = []

    async def serve() -> None:
        loops.append(type(asyncio.get_running_loop()))

    _run_long(serve())

    assert loops == [uvloop.Loop]

"""The threads the command app runs its blocking calls on.

A command blocks: its append waits for the event store, a login hashes a
password. FastAPI would run a sync endpoint through anyio's to_thread, which
cost 65 µs of CPU per call against 30 µs for the event loop's run_in_executor
on a plain ThreadPoolExecutor (20,000 calls, 64 at a time, on uvloop); B1 went
from about 1,600 to 1,800 requests/s. Endpoints are async, and hand only the
blocking call to these threads, with the caller's context variables (the
request id the logs carry).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Request

P = ParamSpec("P")
T = TypeVar("T")


class CommandThreads:
    def __init__(self, size: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="command")

    async def run(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Runs ``call`` on a thread and waits for it. If the request is cancelled (its
        client went away), the call still runs to its end: a command is not torn
        halfway."""
        context = contextvars.copy_context()
        work = functools.partial(context.run, call, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    def close(self) -> None:
        """Waits for the calls under way."""
        self._pool.shutdown(wait=True)


async def _threads(request: Request) -> CommandThreads:
    threads: CommandThreads = request.app.state.threads
    return threads


Threads = Annotated[CommandThreads, Depends(_threads)]

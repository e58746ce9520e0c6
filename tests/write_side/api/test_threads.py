"""The command app's threads: off the event loop, with the caller's context."""

from __future__ import annotations

import contextvars
import threading

from write_side.api.threads import CommandThreads

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


async def test_a_call_runs_on_another_thread_and_sees_the_callers_context() -> None:
    threads = CommandThreads(2)
    REQUEST_ID.set("req-7")
    try:
        seen = await threads.run(lambda: (REQUEST_ID.get(), threading.current_thread().name))
    finally:
        threads.close()

    assert seen[0] == "req-7"
    assert seen[1] != threading.current_thread().name

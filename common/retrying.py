"""Retrying with jittered exponential backoff (tenacity) until the process is told to stop."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_random_exponential


def until_stopped(
    stop: asyncio.Event,
    *,
    on: tuple[type[BaseException], ...],
    first: float,
    cap: float,
    log: Any,
    message: str,
) -> AsyncRetrying:
    """Retries on ``on`` errors forever, pausing up to ``first * 2**n`` (at most ``cap``)
    seconds with full jitter, so that many processes do not reconnect in step.

    A pause ends as soon as ``stop`` is set; tenacity then starts one more attempt,
    so each attempt checks ``stop`` first and returns at once when it is set.
    """

    async def pause(seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)

    def warn(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(message, error=repr(error), in_seconds=round(state.upcoming_sleep, 2))

    return AsyncRetrying(
        retry=retry_if_exception_type(on),
        wait=wait_random_exponential(multiplier=first, max=cap),
        sleep=pause,
        before_sleep=warn,
    )

"""A circuit breaker, so that a dependency that is down costs one fast refusal per call.

Hand-written rather than a library, after weighing the three on PyPI:
purgatory (asyncio, last release 2024) reads ``time.time()`` directly, so a test
cannot drive its clock, and its half-open state lets every concurrent call
through, not one probe; pybreaker (maintained) is synchronous, its async path
needs tornado; aiobreaker has not been released since 2021 and calls
``datetime.utcnow()``, deprecated since Python 3.12. The state machine the
read side needs is about sixty lines with an injectable monotonic clock and a
single probe, which is less to trust than any of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from types import TracebackType


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(Exception):
    """The breaker refused the call without trying it."""

    def __init__(self, name: str, retry_after: float) -> None:
        super().__init__(f"{name} circuit is open; next try in {retry_after:.1f}s")
        self.retry_after = retry_after


class CircuitBreaker:
    """Opens after ``failure_threshold`` consecutive failures, for ``reset_timeout`` seconds.

    While open every call is refused with CircuitOpen. Once the timeout has
    passed one call goes through as a probe (half-open; the others are still
    refused): its success closes the breaker, its failure opens it again. Only
    exceptions of the ``failures`` types count as failures; any other exception
    means the dependency answered, so it counts as a success.
    """

    def __init__(
        self,
        name: str,
        *,
        failures: tuple[type[BaseException], ...],
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_timeout < 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout >= 0")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._failures = failures
        self._clock = clock
        self._consecutive_failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._probing or self._retry_after() <= 0:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def consecutive_failures(self) -> int:
        return self._consecutive_failures

    def snapshot(self) -> dict[str, object]:
        """What a health check reports."""
        return {"state": self.state.value, "consecutive_failures": self._consecutive_failures}

    def guard(self) -> CircuitBreaker:
        """Runs the block if the breaker allows it, and records how it ended. The breaker
        is its own context manager (it keeps no state per call): a generator-based one
        costs several times as much, and it wraps every cache call on the hot path."""
        return self

    def __enter__(self) -> None:
        self._enter()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            self._record_success()
        elif issubclass(kind, self._failures):
            self._record_failure()
        elif issubclass(kind, Exception):  # the dependency answered
            self._record_success()
        else:  # cancelled: says nothing about the dependency
            self._probing = False

    def _enter(self) -> None:
        if self._opened_at is None:
            return
        if self._probing or self._retry_after() > 0:
            raise CircuitOpen(self.name, max(self._retry_after(), 0.0))
        self._probing = True

    def _retry_after(self) -> float:
        assert self._opened_at is not None
        return self._opened_at + self.reset_timeout - self._clock()

    def _record_success(self) -> None:
        self._consecutive_failures = 0
        self._opened_at = None
        self._probing = False

    def _record_failure(self) -> None:
        self._consecutive_failures += 1
        if self._probing or self._consecutive_failures >= self.failure_threshold:
            self._opened_at = self._clock()
        self._probing = False

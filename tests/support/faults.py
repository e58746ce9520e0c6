"""A fault-injecting wrapper of the read-store port.

Two ways to fail: the next N calls (for a breaker's count of consecutive
failures), or every call for a window of time (what an outage looks like to the
projectors and the queries that share the store at once).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from read_side.store import Collection, ReadStore, StoreUnavailable


class FaultyStore:
    """Passes calls to ``inner`` unless a fault is on; a failing call first waits
    ``delay`` seconds, like a driver's server selection, then raises StoreUnavailable."""

    def __init__(self, inner: ReadStore, *, delay: float = 0.2) -> None:
        self.inner = inner
        self.delay = delay
        self.pending_failures = 0
        self.calls = 0
        self.failed = 0
        self._down_until = 0.0

    def fail_next(self, calls: int) -> None:
        self.pending_failures = calls

    def fail_for(self, seconds: float) -> None:
        self._down_until = time.monotonic() + seconds

    @property
    def down(self) -> bool:
        return self.pending_failures > 0 or time.monotonic() < self._down_until

    async def through(self, call: Callable[[], Awaitable[Any]]) -> Any:
        self.calls += 1
        if self.down:
            self.pending_failures = max(0, self.pending_failures - 1)
            self.failed += 1
            await asyncio.sleep(self.delay)
            raise StoreUnavailable("injected fault")
        return await call()

    def collection(self, name: str) -> Collection:
        return _FaultyCollection(self, self.inner.collection(name))  # type: ignore[return-value]

    async def collection_names(self) -> list[str]:
        return await self.through(self.inner.collection_names)  # type: ignore[no-any-return]

    async def rename(self, source: str, target: str) -> None:
        await self.through(lambda: self.inner.rename(source, target))

    async def drop(self, name: str) -> None:
        await self.through(lambda: self.inner.drop(name))

    async def ping(self) -> None:
        await self.through(self.inner.ping)

    async def close(self) -> None:
        await self.inner.close()


class _FaultyCollection:
    """Every coroutine method of the wrapped collection goes through the store's faults."""

    def __init__(self, store: FaultyStore, inner: Collection) -> None:
        self._store = store
        self._inner = inner

    @property
    def name(self) -> str:
        return self._inner.name

    def __getattr__(self, attribute: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._inner, attribute)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self._store.through(lambda: method(*args, **kwargs))

        return call

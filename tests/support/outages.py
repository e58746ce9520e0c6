"""A fault-injecting wrapper of the read-store port: every call raises for a while.

Unlike a count of failing calls, a window of time is what an outage looks like to
everything that shares the store at once: the projectors and the queries.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from read_side.store import Collection, ReadStore, StoreUnavailable


class OutageStore:
    """Passes every call to ``inner``, except during an outage, when each call waits
    ``delay`` s (like a driver's server selection) and raises StoreUnavailable."""

    def __init__(self, inner: ReadStore, *, delay: float = 0.05) -> None:
        self.inner = inner
        self.delay = delay
        self.failed = 0
        self._until = 0.0

    def fail_for(self, seconds: float) -> None:
        self._until = time.monotonic() + seconds

    @property
    def down(self) -> bool:
        return time.monotonic() < self._until

    async def through(self, call: Callable[[], Awaitable[Any]]) -> Any:
        if self.down:
            self.failed += 1
            await asyncio.sleep(self.delay)
            raise StoreUnavailable("injected outage")
        return await call()

    def collection(self, name: str) -> Collection:
        return _OutageCollection(self, self.inner.collection(name))  # type: ignore[return-value]

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


class _OutageCollection:
    """Every coroutine method of the wrapped collection goes through the outage."""

    def __init__(self, store: OutageStore, inner: Collection) -> None:
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

"""A fault-injecting ReadStore wrapper: the next N calls fail as an unreachable store would."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from read_side.store import Collection, ReadStore, StoreUnavailable


class FaultyStore:
    """Passes calls to ``inner`` unless failures are pending; each failure first waits
    ``delay`` seconds, like a driver's server selection timeout."""

    def __init__(self, inner: ReadStore, *, delay: float = 0.2) -> None:
        self.inner = inner
        self.delay = delay
        self.pending_failures = 0
        self.calls = 0

    def fail_next(self, calls: int) -> None:
        self.pending_failures = calls

    async def _through(self, call: Callable[[], Awaitable[Any]]) -> Any:
        self.calls += 1
        if self.pending_failures > 0:
            self.pending_failures -= 1
            await asyncio.sleep(self.delay)
            raise StoreUnavailable("injected fault")
        return await call()

    def collection(self, name: str) -> Collection:
        return _FaultyCollection(self, self.inner.collection(name))  # type: ignore[return-value]

    async def collection_names(self) -> list[str]:
        return await self._through(self.inner.collection_names)  # type: ignore[no-any-return]

    async def rename(self, source: str, target: str) -> None:
        await self._through(lambda: self.inner.rename(source, target))

    async def drop(self, name: str) -> None:
        await self._through(lambda: self.inner.drop(name))

    async def ping(self) -> None:
        await self._through(self.inner.ping)

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
            return await self._store._through(lambda: method(*args, **kwargs))

        return call

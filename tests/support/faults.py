"""A fault-injecting wrapper of the read-store port.

Two ways to fail: the next N calls (for a breaker's count of consecutive
failures), or every call for a window of time (what an outage looks like to the
projectors and the queries that share the store at once).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

from read_side.store import Changes, Criteria, Document, ReadStore, StoreUnavailable, Table


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

    async def create(self, tables: Sequence[Table]) -> None:
        await self.through(lambda: self.inner.create(tables))

    async def drop(self, tables: Sequence[Table]) -> None:
        await self.through(lambda: self.inner.drop(tables))

    async def get(self, table: Table, key: str) -> Document | None:
        return await self.through(lambda: self.inner.get(table, key))  # type: ignore[no-any-return]

    async def get_many(self, table: Table, keys: Collection[str]) -> dict[str, Document]:
        return await self.through(lambda: self.inner.get_many(table, keys))  # type: ignore[no-any-return]

    async def find(self, table: Table, query: Criteria) -> list[Document]:
        return await self.through(lambda: self.inner.find(table, query))  # type: ignore[no-any-return]

    async def scan(
        self, table: Table, *, after: str | None = None, limit: int = 1000
    ) -> list[tuple[str, Document]]:
        return await self.through(lambda: self.inner.scan(table, after=after, limit=limit))  # type: ignore[no-any-return]

    async def count(self, table: Table, query: Criteria) -> int:
        return await self.through(lambda: self.inner.count(table, query))  # type: ignore[no-any-return]

    async def commit(self, changes: Changes) -> None:
        await self.through(lambda: self.inner.commit(changes))

    async def ping(self) -> None:
        await self.through(self.inner.ping)

    async def close(self) -> None:
        await self.inner.close()

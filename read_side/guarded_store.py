"""The ReadStore port behind a circuit breaker, whatever adapter is inside.

When MongoDB stops answering, each call would wait out the driver's server
selection timeout; behind the breaker, after a few such failures, queries are
refused at once with StoreUnavailable (a 503 with Retry-After at the edge)
until a probe finds the store back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import TypeVar

from read_side.breaker import CircuitBreaker, CircuitOpen
from read_side.store import Changes, Criteria, Document, ReadStore, StoreUnavailable, Table

T = TypeVar("T")


def store_breaker(failure_threshold: int = 5, reset_timeout: float = 30.0) -> CircuitBreaker:
    """A breaker that counts only StoreUnavailable: a refused write means the store answered."""
    return CircuitBreaker(
        "read_store",
        failures=(StoreUnavailable,),
        failure_threshold=failure_threshold,
        reset_timeout=reset_timeout,
    )


class GuardedReadStore:
    """Implements ReadStore by passing every call through ``breaker`` to ``inner``."""

    def __init__(self, inner: ReadStore, breaker: CircuitBreaker) -> None:
        self._inner = inner
        self.breaker = breaker

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        try:
            with self.breaker.guard():
                return await operation()
        except CircuitOpen as error:
            raise StoreUnavailable(str(error)) from error

    async def create(self, tables: Sequence[Table]) -> None:
        await self._call(lambda: self._inner.create(tables))

    async def drop(self, tables: Sequence[Table]) -> None:
        await self._call(lambda: self._inner.drop(tables))

    async def get(self, table: Table, key: str) -> Document | None:
        return await self._call(lambda: self._inner.get(table, key))

    async def get_many(self, table: Table, keys: Collection[str]) -> dict[str, Document]:
        return await self._call(lambda: self._inner.get_many(table, keys))

    async def find(self, table: Table, query: Criteria) -> list[Document]:
        return await self._call(lambda: self._inner.find(table, query))

    async def scan(
        self, table: Table, *, after: str | None = None, limit: int = 1000
    ) -> list[tuple[str, Document]]:
        return await self._call(lambda: self._inner.scan(table, after=after, limit=limit))

    async def count(self, table: Table, query: Criteria) -> int:
        return await self._call(lambda: self._inner.count(table, query))

    async def commit(self, changes: Changes) -> None:
        await self._call(lambda: self._inner.commit(changes))

    async def ping(self) -> None:
        await self._call(self._inner.ping)

    async def close(self) -> None:
        await self._inner.close()

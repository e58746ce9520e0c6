"""The ReadStore port behind a circuit breaker, whatever adapter is inside.

When MongoDB stops answering, each call would wait out the driver's server
selection timeout; behind the breaker, after a few such failures, queries are
refused at once with StoreUnavailable (a 503 with Retry-After at the edge)
until a probe finds the store back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from read_side.breaker import CircuitBreaker, CircuitOpen
from read_side.store import (
    Collection,
    Document,
    Filter,
    ReadStore,
    SortSpec,
    StoreUnavailable,
    UpdateResult,
)

T = TypeVar("T")


def store_breaker(failure_threshold: int = 5, reset_timeout: float = 30.0) -> CircuitBreaker:
    """A breaker that counts only StoreUnavailable: a refused write means the store answered."""
    return CircuitBreaker(
        "read_store",
        failures=(StoreUnavailable,),
        failure_threshold=failure_threshold,
        reset_timeout=reset_timeout,
    )


async def _call(breaker: CircuitBreaker, operation: Callable[[], Awaitable[T]]) -> T:
    try:
        with breaker.guard():
            return await operation()
    except CircuitOpen as error:
        raise StoreUnavailable(str(error)) from error


class GuardedCollection:
    def __init__(self, inner: Collection, breaker: CircuitBreaker) -> None:
        self._inner = inner
        self._breaker = breaker

    @property
    def name(self) -> str:
        return self._inner.name

    async def find_one(
        self, filter: Filter, projection: Mapping[str, Any] | None = None
    ) -> Document | None:
        return await _call(self._breaker, lambda: self._inner.find_one(filter, projection))

    async def find(
        self,
        filter: Filter,
        *,
        sort: SortSpec = (),
        skip: int = 0,
        limit: int = 0,
        projection: Mapping[str, Any] | None = None,
    ) -> list[Document]:
        return await _call(
            self._breaker,
            lambda: self._inner.find(
                filter, sort=sort, skip=skip, limit=limit, projection=projection
            ),
        )

    async def count(self, filter: Filter) -> int:
        return await _call(self._breaker, lambda: self._inner.count(filter))

    async def insert_one(self, document: Document) -> bool:
        return await _call(self._breaker, lambda: self._inner.insert_one(document))

    async def insert_many(self, documents: Sequence[Document]) -> int:
        return await _call(self._breaker, lambda: self._inner.insert_many(documents))

    async def update_one(
        self, filter: Filter, update: Mapping[str, Any], *, upsert: bool = False
    ) -> UpdateResult:
        return await _call(
            self._breaker, lambda: self._inner.update_one(filter, update, upsert=upsert)
        )

    async def delete_one(self, filter: Filter) -> int:
        return await _call(self._breaker, lambda: self._inner.delete_one(filter))

    async def delete_many(self, filter: Filter) -> int:
        return await _call(self._breaker, lambda: self._inner.delete_many(filter))

    async def aggregate(self, pipeline: Sequence[Mapping[str, Any]]) -> list[Document]:
        return await _call(self._breaker, lambda: self._inner.aggregate(pipeline))

    async def create_index(self, keys: SortSpec, *, unique: bool = False) -> None:
        await _call(self._breaker, lambda: self._inner.create_index(keys, unique=unique))


class GuardedReadStore:
    """Implements ReadStore by passing every call through ``breaker`` to ``inner``."""

    def __init__(self, inner: ReadStore, breaker: CircuitBreaker) -> None:
        self._inner = inner
        self.breaker = breaker

    def collection(self, name: str) -> GuardedCollection:
        return GuardedCollection(self._inner.collection(name), self.breaker)

    async def collection_names(self) -> list[str]:
        return await _call(self.breaker, self._inner.collection_names)

    async def rename(self, source: str, target: str) -> None:
        await _call(self.breaker, lambda: self._inner.rename(source, target))

    async def drop(self, name: str) -> None:
        await _call(self.breaker, lambda: self._inner.drop(name))

    async def ping(self) -> None:
        await _call(self.breaker, self._inner.ping)

    async def close(self) -> None:
        await self._inner.close()

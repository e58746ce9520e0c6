"""A value per key read from the store at most once per TTL, concurrent callers sharing
the read under way: what keeps many waiting queries from each polling the store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SharedReads(Generic[T]):
    def __init__(
        self,
        read: Callable[[str], Awaitable[T]],
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._ttl = ttl
        self._clock = clock
        self._known: dict[str, tuple[float, T]] = {}
        self._reading: dict[str, asyncio.Future[T]] = {}

    async def get(self, key: str) -> T:
        known = self._known.get(key)
        if known is not None and self._clock() < known[0]:
            return known[1]
        reading = self._reading.get(key)
        if reading is None:
            reading = asyncio.ensure_future(self._fresh(key))
            self._reading[key] = reading
            reading.add_done_callback(lambda done: self._settle(key, done))
        return await asyncio.shield(reading)  # one caller's cancellation is not everyone's

    async def _fresh(self, key: str) -> T:
        expires = self._clock() + self._ttl
        value = await self._read(key)
        self._known[key] = (expires, value)
        return value

    def _settle(self, key: str, done: asyncio.Future[T]) -> None:
        self._reading.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved here too, in case every caller was cancelled

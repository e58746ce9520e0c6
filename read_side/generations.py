"""Generations of a projection's collections: how a rebuild replaces read models live.

A projection's documents live in collections named for a generation
(``users`` is generation 0, ``users__g3`` generation 3). One small document
per projection says which generation is current, and which one a rebuild has
proposed next; readers resolve names through it, so switching is one atomic
write. Cache keys carry the generation too, so no entry of an old generation
is ever served from a new one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from read_side.store import Collection, DuplicateKey, ReadStore

GENERATIONS = "generations"


def physical(name: str, generation: int) -> str:
    return name if generation == 0 else f"{name}__g{generation}"


def cache_kind(kind: str, generation: int) -> str:
    return kind if generation == 0 else f"{kind}:g{generation}"


class GenerationView:
    """The read store as one generation of a projection sees it."""

    def __init__(self, store: ReadStore, generation: int) -> None:
        self.store = store
        self.generation = generation

    def collection(self, name: str) -> Collection:
        return self.store.collection(physical(name, self.generation))

    async def collection_names(self) -> list[str]:
        return await self.store.collection_names()

    async def rename(self, source: str, target: str) -> None:
        await self.store.rename(
            physical(source, self.generation), physical(target, self.generation)
        )

    async def drop(self, name: str) -> None:
        await self.store.drop(physical(name, self.generation))

    async def ping(self) -> None:
        await self.store.ping()

    async def close(self) -> None:
        """The underlying store belongs to the caller."""


@dataclass(frozen=True, slots=True)
class GenerationState:
    current: int = 0
    next: int | None = None
    """A generation a rebuild has built and proposed; the live projector switches to it."""


class Generations:
    def __init__(self, store: ReadStore) -> None:
        self.store = store
        self.documents = store.collection(GENERATIONS)

    async def state(self, projection: str) -> GenerationState:
        doc = await self.documents.find_one({"_id": projection})
        if doc is None:
            return GenerationState()
        return GenerationState(doc.get("current", 0), doc.get("next"))

    async def current(self, projection: str) -> int:
        return (await self.state(projection)).current

    async def view(self, projection: str) -> GenerationView:
        return GenerationView(self.store, await self.current(projection))

    async def propose(self, projection: str, generation: int) -> None:
        await self.documents.update_one(
            {"_id": projection}, {"$set": {"next": generation}}, upsert=True
        )

    async def withdraw(self, projection: str) -> None:
        await self.documents.update_one({"_id": projection}, {"$set": {"next": None}})

    async def switch(self, projection: str, from_generation: int, to_generation: int) -> bool:
        """Makes ``to_generation`` current, unless someone already switched; True if this did."""
        state = await self.state(projection)
        if state.current != from_generation:
            return False
        try:
            result = await self.documents.update_one(
                _current_is(projection, from_generation),
                {"$set": {"current": to_generation, "next": None}},
                upsert=from_generation == 0,
            )
        except DuplicateKey:  # another switch won the race
            return False
        return result.matched > 0 or result.upserted


class CurrentGenerations:
    """The current generation of each projection, as queries resolve it.

    Read from the store at most once per ``ttl`` seconds, so that a query the cache
    answers costs no store round trip (py-spy put this lookup at 24% of a cached
    query's time). A switch is seen within ``ttl``: the rebuild waits longer than that
    before it drops the old generation, and generations only move forward, so a
    query never reads an older generation than the checkpoint it waited for.
    Concurrent callers share one read; ``ttl=0`` reads every time.

    ``announced`` gives the generation a projector in this process has switched to,
    which wins over an older one read before the switch: an in-process checkpoint
    board is not per generation, so it must not show a position that the resolved
    generation does not hold.
    """

    def __init__(
        self,
        store: ReadStore,
        ttl: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        announced: Callable[[str], int | None] = lambda projection: None,
    ) -> None:
        self._generations = Generations(store)
        self._announced = announced
        self.store = store
        self._ttl = ttl
        self._clock = clock
        self._known: dict[str, tuple[float, int]] = {}
        self._reading: dict[str, asyncio.Future[int]] = {}

    async def current(self, projection: str) -> int:
        announced = self._announced(projection) or 0
        known = self._known.get(projection)
        if known is not None and self._clock() < known[0]:
            return max(known[1], announced)
        reading = self._reading.get(projection)
        if reading is None:
            reading = asyncio.ensure_future(self._read(projection))
            self._reading[projection] = reading
            reading.add_done_callback(lambda done: self._settle(projection, done))
        read = await asyncio.shield(reading)  # one caller's cancellation is not everyone's
        return max(read, announced)

    async def view(self, projection: str) -> GenerationView:
        return GenerationView(self.store, await self.current(projection))

    async def _read(self, projection: str) -> int:
        expires = self._clock() + self._ttl
        generation = await self._generations.current(projection)
        self._known[projection] = (expires, generation)
        return generation

    def _settle(self, projection: str, done: asyncio.Future[int]) -> None:
        self._reading.pop(projection, None)
        if not done.cancelled():
            done.exception()  # retrieved here too, in case every caller was cancelled


def _current_is(projection: str, generation: int) -> Mapping[str, Any]:
    if generation == 0:  # a projection that never switched may have no document yet
        return {"_id": projection, "current": {"$in": [0, None]}}
    return {"_id": projection, "current": generation}


async def drop_generation(store: ReadStore, collections: Sequence[str], generation: int) -> None:
    for name in collections:
        await store.drop(physical(name, generation))

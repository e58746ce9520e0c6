"""Generations of a projection's collections: how a rebuild replaces read models live.

A projection's documents live in collections named for a generation
(``users`` is generation 0, ``users__g3`` generation 3). One small document
per projection says which generation is current, and which one a rebuild has
proposed next; readers resolve names through it, so switching is one atomic
write. Cache keys carry the generation too, so no entry of an old generation
is ever served from a new one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def _current_is(projection: str, generation: int) -> Mapping[str, Any]:
    if generation == 0:  # a projection that never switched may have no document yet
        return {"_id": projection, "current": {"$in": [0, None]}}
    return {"_id": projection, "current": generation}


async def drop_generation(store: ReadStore, collections: Sequence[str], generation: int) -> None:
    for name in collections:
        await store.drop(physical(name, generation))

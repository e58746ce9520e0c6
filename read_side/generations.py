"""Generations of a projection's tables: how a rebuild replaces read models live.

A projection's documents live in tables named for a generation
(``users`` is generation 0, ``users__g3`` generation 3). One small document
per projection says which generation is current, and which one a rebuild has
proposed next; readers resolve names through it, so switching is one atomic
write. Cache keys carry the generation too, so no entry of an old generation
is ever served from a new one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from read_side.shared_reads import SharedReads
from read_side.store import REV, Changes, Conflict, Field, ReadStore, Table

GENERATIONS = Table("generations")
_BLOCKED = Field("blocked")


def physical(name: str, generation: int) -> str:
    return name if generation == 0 else f"{name}__g{generation}"


def at(table: Table, generation: int) -> Table:
    """The table as one generation holds it."""
    return table.renamed(physical(table.name, generation))


def cache_kind(kind: str, generation: int) -> str:
    return kind if generation == 0 else f"{kind}:g{generation}"


def streams_table(projector: str) -> Table:
    """Per-stream progress of a projector: part of each of its generations."""
    return Table(f"{projector}__streams", indexes=(("blocked",),), fields=(_BLOCKED,))


def checkpoint_table(projector: str) -> Table:
    """The one document saying how far a projector's generation has applied."""
    return Table(f"{projector}__checkpoint")


@dataclass(frozen=True, slots=True)
class GenerationState:
    current: int = 0
    next: int | None = None
    """A generation a rebuild has built and proposed; the live projector switches to it."""
    revision: int = 0


class Generations:
    def __init__(self, store: ReadStore) -> None:
        self.store = store

    async def state(self, projection: str) -> GenerationState:
        doc = await self.store.get(GENERATIONS, projection)
        if doc is None:
            return GenerationState()
        return GenerationState(doc.get("current", 0), doc.get("next"), doc.get(REV, 0))

    async def current(self, projection: str) -> int:
        return (await self.state(projection)).current

    async def propose(self, projection: str, generation: int) -> None:
        await self._change(projection, lambda state: (state.current, generation))

    async def withdraw(self, projection: str) -> None:
        await self._change(projection, lambda state: (state.current, None))

    async def switch(self, projection: str, from_generation: int, to_generation: int) -> bool:
        """Makes ``to_generation`` current, unless someone already switched; True if this did."""
        state = await self.state(projection)
        if state.current != from_generation:
            return False
        try:
            await self._write(projection, state, to_generation, None)
        except Conflict:  # another switch won the race
            return False
        return True

    async def _change(
        self, projection: str, change: Callable[[GenerationState], tuple[int, int | None]]
    ) -> None:
        while True:
            state = await self.state(projection)
            try:
                await self._write(projection, state, *change(state))
            except Conflict:
                continue
            return

    async def _write(
        self, projection: str, state: GenerationState, current: int, next: int | None
    ) -> None:
        document = {"current": current, "next": next, REV: state.revision + 1}
        await self.store.create([GENERATIONS])  # rare: a rebuild's proposal, or a switch
        await self.store.commit(
            Changes(
                puts={GENERATIONS: {projection: document}},
                expect={(GENERATIONS, projection): state.revision},
            )
        )


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
        self._announced = announced
        self.store = store
        self._reads = SharedReads(Generations(store).current, ttl, clock)

    async def current(self, projection: str) -> int:
        announced = self._announced(projection) or 0
        return max(await self._reads.get(projection), announced)


async def drop_generation(store: ReadStore, tables: Sequence[Table], generation: int) -> None:
    await store.drop([at(table, generation) for table in tables])

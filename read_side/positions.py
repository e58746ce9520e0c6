"""How far each projector has got, for X-Read-Position and X-Min-Position.

In the all-in-one process the projectors announce every checkpoint to a
LocalCheckpoints board, and waiting queries wake at once. A query process of
its own polls the checkpoints the projectors store instead.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from read_side.generations import CurrentGenerations, at, checkpoint_table
from read_side.shared_reads import SharedReads
from read_side.store import ReadStore


class Checkpoints(Protocol):
    async def position(self, projector: str) -> int: ...

    def generation(self, projector: str) -> int | None:
        """The generation a projector in this process last announced; None if unknown."""
        ...

    async def wait(self, projector: str, at_least: int, within: float) -> int:
        """The projector's position once it reaches ``at_least``, or when time is up."""
        ...


class LocalCheckpoints:
    def __init__(self) -> None:
        self._positions: dict[str, int] = {}
        self._generations: dict[str, int] = {}
        self._changed = asyncio.Event()

    def update(self, projector: str, generation: int, position: int) -> None:
        """Called by in-process projectors after each stored checkpoint and each switch.
        The generation is recorded first: a query that sees the new position must read
        the generation that holds it."""
        self._generations[projector] = max(generation, self._generations.get(projector, 0))
        self._positions[projector] = max(position, self._positions.get(projector, 0))
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def position(self, projector: str) -> int:
        return self._positions.get(projector, 0)

    def generation(self, projector: str) -> int | None:
        return self._generations.get(projector)

    async def wait(self, projector: str, at_least: int, within: float) -> int:
        deadline = time.monotonic() + within
        while (current := self._positions.get(projector, 0)) < at_least:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return current
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return self._positions.get(projector, 0)
        return current


class StoreCheckpoints:
    """Reads the checkpoint of the projection's current generation, at most once per
    ``poll_seconds`` however many queries ask or wait (read_side.shared_reads)."""

    def __init__(
        self,
        store: ReadStore,
        poll_seconds: float = 0.005,
        generations: CurrentGenerations | None = None,
    ) -> None:
        self.generations = generations or CurrentGenerations(store)
        self.poll_seconds = poll_seconds
        self._reads = SharedReads(self._read, poll_seconds)

    def generation(self, projector: str) -> int | None:
        """No projector runs here; the store's generation document is the only source."""
        return None

    async def position(self, projector: str) -> int:
        return await self._reads.get(projector)

    async def _read(self, projector: str) -> int:
        generation = await self.generations.current(projector)
        doc = await self.generations.store.get(
            at(checkpoint_table(projector), generation), projector
        )
        return int(doc["position"]) if doc else 0

    async def wait(self, projector: str, at_least: int, within: float) -> int:
        deadline = time.monotonic() + within
        while (current := await self.position(projector)) < at_least:
            if time.monotonic() >= deadline:
                return current
            await asyncio.sleep(self.poll_seconds)
        return current

"""What the query app needs, gathered by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from read_side.breaker import CircuitBreaker
from read_side.cache import DocumentCache
from read_side.generations import Generations, GenerationView
from read_side.positions import Checkpoints
from read_side.store import Collection, ReadStore


@dataclass(frozen=True, slots=True)
class ReadSide:
    store: ReadStore
    cache: DocumentCache
    checkpoints: Checkpoints
    consistency_wait: float = 5.0
    """Seconds a query with X-Min-Position waits for its read model before 504."""
    breakers: tuple[CircuitBreaker, ...] = ()
    """The breakers guarding the store and the cache, for the readiness report."""

    async def view(self, projection: str) -> GenerationView:
        """The projection's current generation; resolved per query, so a switch is seen
        at once."""
        return await Generations(self.store).view(projection)

    async def collection(self, projection: str, name: str | None = None) -> Collection:
        """A collection (by default the one named like the projection) of its current
        generation."""
        return (await self.view(projection)).collection(name or projection)

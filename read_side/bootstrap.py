"""What the query app needs, gathered by the composition root."""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field

from read_side.breaker import CircuitBreaker
from read_side.cache import DocumentCache
from read_side.generations import CurrentGenerations, GenerationView
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
    shared_generations: InitVar[CurrentGenerations | None] = None
    """The resolver StoreCheckpoints uses too, so that both agree; else one of its own."""
    generations: CurrentGenerations = field(init=False)
    """How queries resolve generations: re-read from ``store`` at most every 0.25 s."""

    def __post_init__(self, shared_generations: CurrentGenerations | None) -> None:
        generations = shared_generations or CurrentGenerations(
            self.store, announced=self.checkpoints.generation
        )
        object.__setattr__(self, "generations", generations)  # frozen

    async def view(self, projection: str) -> GenerationView:
        """The projection's current generation, as of at most a quarter second ago."""
        return await self.generations.view(projection)

    async def collection(self, projection: str, name: str | None = None) -> Collection:
        """A collection (by default the one named like the projection) of its current
        generation."""
        return (await self.view(projection)).collection(name or projection)

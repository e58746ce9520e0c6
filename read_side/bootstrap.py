"""What the query app needs, gathered by the composition root."""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field

from read_side.breaker import CircuitBreaker
from read_side.cache import DocumentCache
from read_side.generations import CurrentGenerations, at
from read_side.positions import Checkpoints
from read_side.store import ReadStore, Table


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

    async def table(self, projection: str, table: Table) -> Table:
        """The table as the projection's current generation holds it, as of at most a
        quarter second ago."""
        return at(table, await self.generations.current(projection))

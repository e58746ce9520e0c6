"""What the query app needs, gathered by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from read_side.cache import DocumentCache
from read_side.positions import Checkpoints
from read_side.store import ReadStore


@dataclass(frozen=True, slots=True)
class ReadSide:
    store: ReadStore
    cache: DocumentCache
    checkpoints: Checkpoints
    consistency_wait: float = 5.0
    """Seconds a query with X-Min-Position waits for its read model before 504."""

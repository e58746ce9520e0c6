"""Every projector by name, and how to build one's applier for a generation of its tables."""

from __future__ import annotations

from collections.abc import Callable

from projections.analytics import AnalyticsProjector
from projections.applier import Applier
from projections.audit import AuditProjector
from projections.ports import DocumentCache, EventSource
from projections.projector import Projector
from projections.tasks import TasksProjector
from projections.users import UsersProjector
from read_side.generations import cache_kind
from read_side.store import ReadStore

PROJECTORS: dict[str, Callable[[int], Projector]] = {
    "users": UsersProjector,
    "tasks": TasksProjector,
    "analytics": AnalyticsProjector,
    "audit": AuditProjector,
}
NAMES = tuple(PROJECTORS)
CACHED_KINDS = ("user", "task")
"""The document kinds projectors write to the cache (keys ``{namespace}:{kind}:…``)."""

ApplierFactory = Callable[[int], Applier]
"""Builds the applier of one generation of a projection."""


class GenerationCache:
    """The document cache as one generation writes it: keys carry the generation."""

    def __init__(self, cache: DocumentCache, generation: int) -> None:
        self.cache = cache
        self.generation = generation

    @property
    def enabled(self) -> bool:
        return self.cache.enabled

    async def put(self, kind: str, id: str, version: int, body: bytes) -> bool:
        return await self.cache.put(cache_kind(kind, self.generation), id, version, body)

    async def put_tombstone(self, kind: str, id: str, version: int) -> bool:
        return await self.cache.put_tombstone(cache_kind(kind, self.generation), id, version)


def applier_factory(
    name: str, store: ReadStore, source: EventSource, cache: DocumentCache
) -> ApplierFactory:
    if name not in PROJECTORS:
        raise ValueError(f"unknown projector {name!r}; choose from {', '.join(NAMES)}")
    build = PROJECTORS[name]

    def applier(generation: int) -> Applier:
        return Applier(build(generation), store, source, GenerationCache(cache, generation))

    return applier

"""Every projector by name, and how to build one for a generation of its collections."""

from __future__ import annotations

from collections.abc import Callable

from projections.analytics import AnalyticsProjector
from projections.audit import AuditProjector
from projections.ports import DocumentCache
from projections.projector import Projector
from projections.tasks import TasksProjector
from projections.tracking import tracking_collections
from projections.users import UsersProjector
from read_side.generations import cache_kind

NAMES = ("users", "tasks", "analytics", "audit")
CACHED_KINDS = ("user", "task")
"""The document kinds projectors write to the cache (keys ``{namespace}:{kind}:…``)."""

ProjectorFactory = Callable[[int], Projector]
"""Builds a projector whose cache writes are keyed for the given generation."""


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


def projector_factory(name: str, cache: DocumentCache) -> ProjectorFactory:
    if name not in NAMES:
        raise ValueError(f"unknown projector {name!r}; choose from {', '.join(NAMES)}")

    def build(generation: int) -> Projector:
        scoped = GenerationCache(cache, generation)
        built: dict[str, Callable[[], Projector]] = {
            "users": lambda: UsersProjector(scoped),
            "tasks": lambda: TasksProjector(scoped),
            "analytics": AnalyticsProjector,
            "audit": AuditProjector,
        }
        return built[name]()

    return build


def owned_collections(projector: Projector) -> tuple[str, ...]:
    """Everything a generation of this projector holds: what a rebuild replaces."""
    return (*projector.collections, *tracking_collections(projector.name))

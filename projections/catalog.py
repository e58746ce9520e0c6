"""Every projector by name, built with its dependencies."""

from __future__ import annotations

from projections.analytics import AnalyticsProjector
from projections.audit import AuditProjector
from projections.ports import DocumentCache
from projections.projector import Projector
from projections.tasks import TasksProjector
from projections.users import UsersProjector

NAMES = ("users", "tasks", "analytics", "audit")


def build_projectors(cache: DocumentCache, names: tuple[str, ...] = NAMES) -> list[Projector]:
    unknown = set(names) - set(NAMES)
    if unknown:
        raise ValueError(f"unknown projector(s): {', '.join(sorted(unknown))}")
    built: dict[str, Projector] = {
        "users": UsersProjector(cache),
        "tasks": TasksProjector(cache),
        "analytics": AnalyticsProjector(),
        "audit": AuditProjector(),
    }
    return [built[name] for name in names]

"""Liveness, and readiness: the read store must answer; Redis is reported, not required.

Readiness also reports each circuit breaker (state and consecutive failures),
so an operator sees at once whether queries are being refused fast.
"""

from __future__ import annotations

from fastapi import APIRouter

from common.problems import Problem
from read_side.api.deps import ReadSideDep
from read_side.store import StoreUnavailable

router = APIRouter(prefix="/health", tags=["health"])


@router.get("")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(rs: ReadSideDep) -> dict[str, object]:
    redis = "disabled" if not rs.cache.enabled else "ok" if await rs.cache.ping() else "down"
    checks = {"redis": redis}
    try:
        await rs.store.ping()
    except StoreUnavailable as error:
        raise Problem(
            503,
            f"read store: {error}",
            slug="unavailable",
            headers={"Retry-After": "5"},
            checks=checks | {"read_store": "down"},
            breakers={b.name: b.snapshot() for b in rs.breakers},
        ) from error
    breakers = {b.name: b.snapshot() for b in rs.breakers}
    return {"status": "ready", "checks": checks | {"read_store": "ok"}, "breakers": breakers}

"""Liveness (the process answers) and readiness (PostgreSQL answers)."""

from __future__ import annotations

from fastapi import APIRouter

from common.problems import Problem
from write_side.api.deps import WriteSideDep
from write_side.api.threads import Threads
from write_side.event_store import StoreUnavailable

router = APIRouter(prefix="/health", tags=["health"])


@router.get("")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(ws: WriteSideDep, threads: Threads) -> dict[str, object]:
    try:
        await threads.run(ws.store.ping)
    except StoreUnavailable as error:
        raise Problem(
            503,
            f"postgres: {error}",
            slug="unavailable",
            headers={"Retry-After": "5"},
            checks={"postgres": "down"},
        ) from error
    return {"status": "ready", "checks": {"postgres": "ok"}}

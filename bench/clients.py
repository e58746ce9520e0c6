"""What the asyncio benchmarks (B5, B7) share: a pooled client, percentiles, users."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx

from bench.auth import bearer

PASSWORD = "Bench-Pass-123"  # noqa: S105 (a throwaway account's)


def client(base: str, *, authorized: bool = True, connections: int = 64) -> httpx.AsyncClient:
    """One pool for the whole load: a connection per request in flight, no handshakes after
    the first; an admin token unless ``authorized`` is False (registration needs none).

    Keep ``connections`` near the load's concurrency: httpcore checks every pooled
    connection on every request, and at 512 that check was most of B5's client CPU.

    Idle connections are dropped before uvicorn's 5 s keep-alive timeout: at httpx's
    default (also 5 s) a request can race the server's close and fail as a ReadError."""
    limits = httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=2.0
    )
    headers = bearer() if authorized else {}
    return httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits)


def describe(errors: Counter[str]) -> str:
    """``3 x 504, 1 x ReadError``, or ``none``."""
    return ", ".join(f"{n} x {kind}" for kind, n in errors.most_common()) or "none"


def percentile(values: list[float], p: float) -> float:
    """Nearest rank; 0.0 for no values, so an all-failed run still makes a row."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def register(api: httpx.AsyncClient) -> httpx.Response:
    """POST /api/v1/users for a fresh name (argon2 costs the server ~30 ms of CPU)."""
    name = uuid.uuid4().hex[:12]
    body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
    return await api.post("/api/v1/users", json=body)


async def register_many(api: httpx.AsyncClient, n: int, concurrency: int = 4) -> list[str]:
    """Ids of ``n`` new users, registered over HTTP a few at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> str:
        async with gate:
            response = await register(api)
            response.raise_for_status()
            return str(response.json()["id"])

    return list(await asyncio.gather(*(one() for _ in range(n))))

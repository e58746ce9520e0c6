"""Bare apps that do the least work the real endpoints must do: the benchmarks' baselines.

Run with uvicorn's factory mode, configured by environment variables, e.g.
``uvicorn --factory bench.baselines:insert_app``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from starlette.responses import Response

from common.telemetry import TELEMETRY_OFF

PAYLOAD = b"x" * 400
"""About the size of a stored TaskCreated event."""


def insert_app() -> FastAPI:
    """B1 baseline (b): one INSERT and COMMIT per request, through a connection pool."""
    pool = AsyncConnectionPool(os.environ["BENCH_DSN"], min_size=10, max_size=20, open=False)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.open()
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan, telemetry=TELEMETRY_OFF)

    @app.post("/insert")
    async def insert(request: Request) -> Response:
        await request.body()
        async with pool.connection() as conn:
            await conn.execute("INSERT INTO bench_rows (state) VALUES (%s)", (PAYLOAD,))
        return Response(b'{"ok":true}', 201, media_type="application/json")

    return app


def redis_app() -> FastAPI:
    """B2 baseline: one Redis GET per request, returned as the body."""
    redis = Redis.from_url(os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0"))
    prefix = os.environ["BENCH_PREFIX"]
    app = FastAPI(telemetry=TELEMETRY_OFF)

    @app.get("/get/{key}")
    async def get(key: str) -> Response:
        body = await redis.get(f"{prefix}:{key}")
        if body is None:
            return Response(status_code=404)
        return Response(body, media_type="application/json")

    return app

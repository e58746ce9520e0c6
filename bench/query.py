"""B3: GET /api/v1/users/{id} with the Redis cache off, against one bare indexed SELECT.

Both sides read the same rows: the users table the projector wrote in PostgreSQL (the
read store's schema ``read``). The baseline is FastAPI plus one primary-key SELECT
through a psycopg pool of its own, so the ratio is what the query API costs on top
of the lookup: auth, the position header, the generation lookup, the adapter and
middleware.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import orjson
from fastapi import FastAPI
from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool
from starlette.responses import Response

from bench import wrk
from bench.auth import admin_token, bearer
from bench.checkpoints import idle
from bench.rows import Context, Row, own_database
from bench.servers import server
from common.telemetry import TELEMETRY_OFF
from read_side.store import public_view

USERS = 10_000


def store_app() -> FastAPI:
    """B3 baseline: one SELECT by primary key of the users table in READ_DSN."""

    async def configure(conn: AsyncConnection[TupleRow]) -> None:
        set_json_loads(orjson.loads, conn)

    pool: AsyncConnectionPool[AsyncConnection[TupleRow]] = AsyncConnectionPool(
        os.environ["READ_DSN"], min_size=4, max_size=10, open=False, configure=configure,
        kwargs={"autocommit": True},
    )  # fmt: skip

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.open()
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan, telemetry=TELEMETRY_OFF)

    @app.get("/get/{uid}")
    async def get(uid: str) -> Response:
        async with pool.connection() as conn:
            cursor = await conn.execute("SELECT body FROM read.users WHERE key = %s", (uid,))
            row = await cursor.fetchone()
        if row is None:
            return Response(status_code=404)
        return Response(orjson.dumps(public_view(row[0])), media_type="application/json")

    return app


@own_database
def b3(ctx: Context) -> list[Row]:
    """GET /api/v1/users/{id} with the cache disabled, random ids over 10,000 users."""
    from bench.suite import median_of, seed_users

    seconds, repeat = ctx.args.seconds, ctx.args.repeat
    users, head = seed_users(ctx.settings, USERS)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as ids:
        ids.write("\n".join(users))
    get = {"IDS_FILE": ids.name, "TOKEN": admin_token()}
    uncached = ctx.env | {"TASKTRAIL_CACHE_ENABLED": "false"}
    with server(["cli", "serve", "--port", "8815"], port=8815, ready="/health",
                env=uncached) as base:  # fmt: skip
        wait = {"X-Min-Position": str(head)} | bearer()  # the projectors catch up on start
        with httpx.Client(base_url=base, timeout=30, headers=wait) as client:
            while (status := client.get(f"/api/v1/users/{users[-1]}").status_code) == 504:
                pass
            assert status == 200, status
        idle(ctx.settings, head, within=300)
        ours = median_of(ctx, "B3 GET /users/{id} uncached", repeat, lambda: wrk.run(
            base + "/", "get_random.lua", connections=64, seconds=seconds,
            env=get | {"PATH_PREFIX": "/api/v1/users/"}))  # fmt: skip
    with server(["uvicorn", "--factory", "bench.query:store_app", "--port", "8816",
                 "--log-level", "warning", "--loop", "uvloop"], port=8816, ready="/docs",
                env=ctx.env | {"READ_DSN": ctx.settings.postgres_dsn}) as base:  # fmt: skip
        bare = median_of(ctx, "B3 bare FastAPI indexed SELECT", repeat, lambda: wrk.run(
            base + "/", "get_random.lua", connections=64, seconds=seconds,
            env=get | {"PATH_PREFIX": "/get/"}))  # fmt: skip
    os.unlink(ids.name)
    return [
        Row("B3", "GET /users/{id} uncached req/s vs bare SELECT", ours.requests_per_second,
            bare.requests_per_second, ">= 60%",
            ours.requests_per_second >= 0.6 * bare.requests_per_second),
        Row("B3", "errors (non-2xx, socket)", ours.errors, 0, "0", ours.errors == 0),
    ]  # fmt: skip

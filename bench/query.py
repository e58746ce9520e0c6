"""B3: GET /api/v1/users/{id} with the Redis cache off, against one bare find_one.

Both sides read the same store implementation (the in-process MemoryReadStore)
holding documents of the same shape, so the ratio is what the query API costs
on top of the lookup: auth, the position header, the generation lookup and
middleware. The baseline seeds its store at start-up from the same ids.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import orjson
from fastapi import FastAPI
from starlette.responses import Response

from bench import wrk
from bench.auth import admin_token, bearer
from bench.rows import Context, Row, own_database
from bench.servers import server
from common.telemetry import TELEMETRY_OFF
from events.tasks import TaskStatus
from read_side.memory import MemoryReadStore
from read_side.store import Document, public_view

USERS = 10_000


def user_document(uid: str) -> Document:
    """A users read-model document as projections/users.py writes it after registration."""
    name = uid.replace("-", "")[:16]
    at = "2026-01-01T00:00:00.000000Z"
    counts = {str(s): 0 for s in TaskStatus} | {"total": 0}
    return {
        "_id": uid, "id": uid, "email": f"{name}@example.com", "username": name,
        "full_name": None, "bio": None, "status": "active", "role": "member",
        "created_at": at, "updated_at": at, "version": 1, "task_counts": counts,
        "_email": f"{name}@example.com", "_username": name, "_rev": 1,
    }  # fmt: skip


def store_app() -> FastAPI:
    """B3 baseline: one find_one by _id on a MemoryReadStore of the ids in IDS_FILE."""
    store = MemoryReadStore("bench_bare")
    users = store.collection("users")
    ids = Path(os.environ["IDS_FILE"]).read_text().split()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await users.insert_many([user_document(uid) for uid in ids])
        yield

    app = FastAPI(lifespan=lifespan, telemetry=TELEMETRY_OFF)

    @app.get("/get/{uid}")
    async def get(uid: str) -> Response:
        doc = await users.find_one({"_id": uid})
        if doc is None:
            return Response(status_code=404)
        return Response(orjson.dumps(public_view(doc)), media_type="application/json")

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
        wait = {"X-Min-Position": str(head)} | bearer()  # serve replays the store on start
        with httpx.Client(base_url=base, timeout=30, headers=wait) as client:
            while (status := client.get(f"/api/v1/users/{users[-1]}").status_code) == 504:
                pass
            assert status == 200, status
        ours = median_of(ctx, "B3 GET /users/{id} uncached", repeat, lambda: wrk.run(
            base + "/", "get_random.lua", connections=64, seconds=seconds,
            env=get | {"PATH_PREFIX": "/api/v1/users/"}))  # fmt: skip
    with server(["uvicorn", "--factory", "bench.query:store_app", "--port", "8816",
                 "--log-level", "warning"], port=8816, ready="/docs",
                env=ctx.env | {"IDS_FILE": ids.name}) as base:  # fmt: skip
        bare = median_of(ctx, "B3 bare FastAPI find_one", repeat, lambda: wrk.run(
            base + "/", "get_random.lua", connections=64, seconds=seconds,
            env=get | {"PATH_PREFIX": "/get/"}))  # fmt: skip
    os.unlink(ids.name)
    return [
        Row("B3", "GET /users/{id} uncached req/s vs bare find_one", ours.requests_per_second,
            bare.requests_per_second, ">= 60%",
            ours.requests_per_second >= 0.6 * bare.requests_per_second),
        Row("B3", "errors (non-2xx, socket)", ours.errors, 0, "0", ours.errors == 0),
    ]  # fmt: skip

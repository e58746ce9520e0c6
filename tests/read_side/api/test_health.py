"""Readiness with the circuit breakers: a failing store, and Redis at a wrong port.

The health router is mounted on an app of its own, as the query app mounts it,
with a fault-injecting wrapper around the in-process store.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import orjson
import pytest
from fastapi import FastAPI

from cli.processes import open_read_side
from common.problems import install_problem_handlers
from common.settings import Settings
from read_side.api import health
from read_side.api.cached import cached_document
from read_side.bootstrap import ReadSide
from read_side.positions import LocalCheckpoints
from read_side.postgres import PostgresReadStore
from read_side.store import REV, Changes
from read_side.tables import USERS
from tests.support.faults import FaultyStore

OPEN_SECONDS = 0.5


def health_app(read_side: ReadSide) -> httpx.AsyncClient:
    app = FastAPI()
    app.state.read_side = read_side
    app.include_router(health.router)
    install_problem_handlers(app)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def opened(settings: Settings, store: FaultyStore) -> ReadSide:
    return await open_read_side(
        settings.model_copy(update={"breaker_open_seconds": OPEN_SECONDS}),
        store,
        LocalCheckpoints(),
    )


@pytest.fixture
async def faulty(read_store: PostgresReadStore) -> FaultyStore:
    return FaultyStore(read_store)


async def test_ready_reports_both_breakers_closed(settings: Settings, faulty: FaultyStore) -> None:
    read_side = await opened(settings, faulty)
    async with health_app(read_side) as api:
        response = await api.get("/health/ready")
    await read_side.cache.close()

    assert response.status_code == 200
    assert response.json()["checks"] == {"redis": "ok", "read_store": "ok"}
    assert response.json()["breakers"] == {
        "read_store": {"state": "closed", "consecutive_failures": 0},
        "redis": {"state": "closed", "consecutive_failures": 0},
    }


async def test_an_open_store_breaker_answers_503_at_once_then_a_probe_closes_it(
    settings: Settings, faulty: FaultyStore
) -> None:
    read_side = await opened(settings, faulty)
    faulty.fail_next(5)
    async with health_app(read_side) as api:
        for _ in range(5):  # each waits out the store's "timeout"
            assert (await api.get("/health/ready")).status_code == 503
        calls = faulty.calls

        started = time.monotonic()
        refused = await api.get("/health/ready")
        elapsed = time.monotonic() - started
        refused_calls = faulty.calls - calls

        await asyncio.sleep(OPEN_SECONDS)
        probed = await api.get("/health/ready")
    await read_side.cache.close()

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "5"
    assert elapsed < faulty.delay / 2, "refused without trying the store"
    assert refused_calls == 0
    assert refused.json()["checks"]["read_store"] == "down"
    assert refused.json()["breakers"]["read_store"] == {"state": "open", "consecutive_failures": 5}
    assert probed.status_code == 200
    assert probed.json()["breakers"]["read_store"]["state"] == "closed"


async def test_with_redis_at_a_wrong_port_queries_answer_from_the_store(
    settings: Settings, faulty: FaultyStore
) -> None:
    read_side = await opened(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}),
                             faulty)  # fmt: skip
    uid = str(uuid.uuid4())
    await faulty.inner.create([USERS])
    await faulty.inner.commit(Changes(puts={USERS: {uid: {REV: 1, "username": "ann"}}}))
    async with health_app(read_side) as api:
        for _ in range(5):
            response = await api.get("/health/ready")
            assert response.status_code == 200, "Redis is reported, not required"
    answers = [await cached_document(read_side, "user", USERS, uid, 7) for _ in range(3)]
    await read_side.cache.close()

    assert response.json()["checks"] == {"redis": "down", "read_store": "ok"}
    assert response.json()["breakers"]["redis"]["state"] == "open"
    assert response.json()["breakers"]["read_store"]["state"] == "closed"
    assert all(a.status_code == 200 for a in answers)
    assert orjson.loads(answers[-1].body) == {"username": "ann"}

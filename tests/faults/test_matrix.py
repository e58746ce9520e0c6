"""The fault matrix: each fault under a steady mixed load, then every check of verify.py.

Reduced size by default (part of scripts/check and .ci/run); the full size:

    FAULTS_SCALE=full .venv/bin/pytest tests/faults -s

Every scenario stops by itself: the fault lasts a fixed time, the load a fixed time
after it, and catching up is bounded (harness.SCALES).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from tests.faults.harness import Deployment, Row, Servers, passed, run_scenario, scale
from tests.support.load import MixedLoad, Result


async def test_postgres_stops_and_restarts(servers: Servers) -> None:
    """Commands answer 503 + Retry-After and append nothing; queries answer what Redis
    holds, and 503 + Retry-After for the rest (the read store is in PostgreSQL too)."""

    async def fault(d: Deployment, load: MixedLoad, row: Row) -> None:
        await asyncio.to_thread(d.servers.postgres.stop)
        await asyncio.sleep(scale().outage)
        await asyncio.to_thread(d.servers.postgres.start)

    row = await run_scenario("postgres restart", servers, fault, queries_may={Result.UNAVAILABLE})
    passed(row)
    assert row.failed_cleanly > 0, "some commands met the outage"


async def test_rabbitmq_stops_and_restarts(servers: Servers) -> None:
    """Commands go on; the relay and the projectors reconnect and catch up."""

    async def fault(d: Deployment, load: MixedLoad, row: Row) -> None:
        await asyncio.to_thread(d.servers.rabbitmq.stop_app)
        await asyncio.sleep(scale().outage)
        await asyncio.to_thread(d.servers.rabbitmq.start_app)

    passed(await run_scenario("rabbitmq restart", servers, fault, queries_may=set()))


async def test_redis_stops_and_restarts(servers: Servers) -> None:
    """Queries fall back to the read store; the emptied cache is refilled, never stale."""

    async def fault(d: Deployment, load: MixedLoad, row: Row) -> None:
        await asyncio.to_thread(d.servers.redis.stop)
        await asyncio.sleep(scale().outage)
        await asyncio.to_thread(d.servers.redis.start)

    passed(await run_scenario("redis restart", servers, fault, queries_may=set()))


async def test_relay_is_killed(servers: Servers) -> None:
    """SIGKILL mid-stream: the restarted relay resumes from its stored position; what it
    publishes twice the projectors apply once."""

    async def fault(d: Deployment, load: MixedLoad, row: Row) -> None:
        d.relay.kill()
        await asyncio.sleep(scale().outage)
        d.relay.start()

    passed(await run_scenario("relay kill -9", servers, fault, queries_may=set()))


async def test_projectors_are_killed_mid_batch(servers: Servers) -> None:
    """Commands, queries, relay and projectors each in a process of its own: SIGKILL to
    the projectors while they hold delivered, unacknowledged messages. The durable queues
    keep them; the restarted process resumes from its checkpoints (no replay from 0) and
    absorbs the redeliveries; the query process answers throughout, and every
    acknowledged command is in the read models exactly once."""

    async def fault(d: Deployment, load: MixedLoad, row: Row) -> None:
        rabbit = d.servers.rabbitmq
        d.projectors.freeze()  # holds what it was delivered; the relay keeps publishing
        unacked = await _unacknowledged(rabbit.queue_counts, d.settings.namespace, within=10)
        d.projectors.kill()
        counts = await asyncio.to_thread(rabbit.queue_counts)
        ready = {q: counts[q][0] for q in unacked}
        row.notes += [
            f"{q}: {n} unacknowledged at the kill, only {ready[q]} ready after it"
            for q, n in unacked.items()
            if ready[q] < n
        ]
        if not unacked:
            row.notes.append("no projector held unacknowledged messages when killed")
        print(f"\nunacknowledged at the kill: {unacked}; ready after it: {ready}")
        await asyncio.sleep(scale().outage)
        await asyncio.to_thread(d.projectors.start)

    passed(await run_scenario("projectors kill -9", servers, fault, queries_may=set()))


async def _unacknowledged(
    counts: Callable[[], dict[str, tuple[int, int]]], namespace: str, within: float
) -> dict[str, int]:
    """The projector queues holding delivered, unacknowledged messages, once any do."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        now = await asyncio.to_thread(counts)
        held = {q: u for q, (_, u) in now.items() if q.startswith(namespace) and u > 0}
        if held:
            return held
        await asyncio.sleep(0.2)
    return {}

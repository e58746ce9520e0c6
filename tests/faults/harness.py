"""One fault scenario: a deployment under steady load, a fault, recovery, verification.

The deployment is three real processes, started as the CLI starts them, on private
PostgreSQL, RabbitMQ and Redis servers (tests/support/instances.py):

- ``commands``: ``tasktrail serve commands``
- ``queries``: ``tasktrail serve queries --with-projectors``: the query API and every
  projector, which must share a process because the read store is in process
- ``relay``: ``tasktrail relay``

so killing the relay or the projectors is a real SIGKILL of a real process.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from psycopg.conninfo import make_conninfo

from common.settings import Settings
from common.tokens import TokenCodec
from tests.faults.verify import (
    Comparison,
    Ledger,
    command_problems,
    compare,
    rebuilt_queries,
    wait_caught_up,
)
from tests.support.instances import PrivatePostgres, PrivateRabbitMQ, PrivateRedis, free_port
from tests.support.load import MixedLoad, Result
from tests.support.processes import ServiceProcess, running, tasktrail_env
from write_side.bootstrap import WriteSide, bootstrap


@dataclass(frozen=True)
class Scale:
    users: int
    workers: int
    readers: int
    pause: float
    before: float
    """Seconds of load before the fault."""
    outage: float
    """Seconds the fault lasts."""
    after: float
    """Seconds of load after recovery."""
    catch_up: float = 60.0
    """Bound on reaching the head once the load stops."""


SCALES = {
    "reduced": Scale(users=6, workers=3, readers=2, pause=0.03, before=4, outage=5, after=4),
    "full": Scale(users=24, workers=8, readers=4, pause=0.005, before=20, outage=15, after=20,
                  catch_up=180),
}  # fmt: skip


def scale() -> Scale:
    """FAULTS_SCALE=full for the full-size matrix; reduced (CI) otherwise."""
    return SCALES[os.environ.get("FAULTS_SCALE", "reduced")]


@dataclass
class Servers:
    postgres: PrivatePostgres
    rabbitmq: PrivateRabbitMQ
    redis: PrivateRedis


@dataclass
class Row:
    """One line of the summary table."""

    scenario: str
    commands: int = 0
    succeeded: int = 0
    failed_cleanly: int = 0
    unknown: int = 0
    """Commands answered 503 outcome-unknown: the store went away mid-commit, for good."""
    unclean: int = 0
    queries: int = 0
    answered: int = 0
    refused: int = 0
    events_stored: int = 0
    events_projected: int = 0
    documents: int = 0
    mismatches: int = 0
    caught_up_seconds: float = 0.0
    slowest: float = 0.0
    notes: list[str] = field(default_factory=list)


ROWS: list[Row] = []


def jwt_secret() -> str:
    return secrets.token_urlsafe(32)


def admin(tokens: TokenCodec) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.issue(uuid.uuid4(), 'admin')}"}


@dataclass
class Deployment:
    settings: Settings
    tokens: TokenCodec
    write_side: WriteSide
    commands: ServiceProcess
    queries: ServiceProcess
    relay: ServiceProcess
    projectors: ServiceProcess
    servers: Servers


@asynccontextmanager
async def deployment(servers: Servers) -> AsyncIterator[Deployment]:
    """A database and namespace of the scenario's own on the private servers."""
    suffix = uuid.uuid4().hex[:8]
    secret = jwt_secret()
    settings = Settings(
        env="test",
        postgres_dsn=make_conninfo(servers.postgres.dsn, dbname=f"faults_{suffix}"),
        rabbitmq_url=servers.rabbitmq.url,
        redis_url=servers.redis.url,
        namespace=f"faults_{suffix}",
        jwt_secret=secret,
    )
    env = tasktrail_env(
        env="test", jwt_secret=secret, postgres_dsn=settings.postgres_dsn,
        rabbitmq_url=settings.rabbitmq_url, redis_url=settings.redis_url,
        namespace=settings.namespace, log_json="true", pg_timeout="2",
        breaker_open_seconds="1",
    )  # fmt: skip
    write_side = await asyncio.to_thread(bootstrap, settings)  # creates database and tables
    port_c, port_q = free_port(), free_port()
    commands = ServiceProcess(
        "commands", ["serve", "commands", "--port", str(port_c)], env, port=port_c
    )
    queries = ServiceProcess("queries", ["serve", "queries", "--port", str(port_q)], env,
                             port=port_q)  # fmt: skip
    relay = ServiceProcess("relay", ["relay"], env)
    projectors = ServiceProcess("projectors", ["project"], env)
    tokens = TokenCodec(secret, lifetime=timedelta(hours=1))
    try:
        with running(commands, relay, projectors, queries):
            yield Deployment(
                settings, tokens, write_side, commands, queries, relay, projectors, servers
            )
    finally:
        write_side.close()


def passed(row: Row) -> None:
    """Prints the scenario's row (seen with -s), then asserts what the matrix promises."""
    from tests.faults.report import table

    print(f"\n{table([row])}")
    assert row.unclean == 0, row.notes
    assert row.mismatches == 0, row.notes
    assert not row.notes, row.notes
    assert row.succeeded > 0


Fault = Callable[[Deployment, MixedLoad, Row], Awaitable[None]]
"""Injects the fault, lets it last, and repairs it, while the load runs."""


async def run_scenario(
    name: str, servers: Servers, fault: Fault, *, queries_may: set[Result]
) -> Row:
    """Load, fault, recovery, then every check; returns the row (already in ROWS)."""
    size = scale()
    row = Row(name)
    ROWS.append(row)
    async with deployment(servers) as d:
        headers = admin(d.tokens)
        load = MixedLoad(
            d.commands.url, d.queries.url, headers, users=size.users, workers=size.workers,
            readers=size.readers, pause=size.pause,
        )  # fmt: skip
        await load.register()
        stop = asyncio.Event()
        loading = asyncio.create_task(load.run(stop))
        await asyncio.sleep(size.before)
        await fault(d, load, row)
        await asyncio.sleep(size.after)
        stop.set()
        await loading
        async with httpx.AsyncClient(base_url=d.queries.url, headers=headers, timeout=30) as live:
            await verify(d.settings, d.write_side, d.tokens, live, load, row, queries_may)
        if row.mismatches or row.unclean:  # what the processes said, to tell why
            for service in (d.relay, d.projectors, d.queries, d.commands):
                row.notes.append(f"{service.name} log tail:\n{service.tail(12)}")
    return row


async def verify(
    settings: Settings,
    write_side: WriteSide,
    tokens: TokenCodec,
    live: httpx.AsyncClient,
    load: MixedLoad,
    row: Row,
    queries_may: set[Result],
) -> None:
    """Fills ``row`` in; every problem found becomes a note (the test asserts none)."""
    store = write_side.store
    ledger = await asyncio.to_thread(Ledger.read, store)
    commands, queries = load.commands(), load.queries()
    tally, asked = load.tally(commands), load.tally(queries)
    row.commands, row.succeeded = len(commands), tally[Result.SUCCEEDED]
    row.failed_cleanly, row.unclean = tally[Result.UNAVAILABLE], tally[Result.FAULT]
    row.unknown = tally[Result.UNKNOWN]
    row.queries, row.answered = len(queries), asked[Result.SUCCEEDED]
    row.refused = asked[Result.UNAVAILABLE] + asked[Result.UNREACHABLE]
    row.events_stored = len(ledger.events)
    row.slowest = max(o.seconds for o in load.outcomes)
    row.notes += command_problems(load, ledger)
    unexpected = [o for o in queries if o.result not in queries_may | {Result.SUCCEEDED}]
    row.notes += [f"query {o.kind}: {o.result} {o.status} {o.detail[:200]}" for o in unexpected]

    started = time.monotonic()
    positions = await wait_caught_up(live, store, ledger.head, scale().catch_up)
    row.caught_up_seconds = time.monotonic() - started
    behind = {k: v for k, v in positions.items() if v < ledger.head}
    if behind:
        row.notes.append(f"not at head {ledger.head} after {scale().catch_up} s: {behind}")
    async with rebuilt_queries(settings, store, tokens, load.headers) as fresh:
        result: Comparison = await compare(live, fresh, ledger, load)
    row.documents, row.events_projected = result.documents, result.projected
    row.mismatches = len(result.mismatches)
    row.notes += result.mismatches
    if row.events_projected != len(ledger.published):
        row.notes.append(
            f"{row.events_projected} events projected, {len(ledger.published)} published"
        )

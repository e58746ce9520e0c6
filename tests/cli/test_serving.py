"""Graceful shutdown of real processes: SIGTERM to `tasktrail relay` and `serve commands`.

Each test runs the CLI as a child process on a database and namespace of its own.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import httpx
import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.sql import SQL, Identifier

from common.settings import Settings
from events.activity import ActivityTracked
from events.envelope import Envelope
from tests.conftest import BASE_DSN
from tests.support import broker
from write_side.bootstrap import WriteSide, bootstrap
from write_side.broker import exchange_name

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 4_000


@pytest.fixture
def own(settings: Settings) -> Iterator[Settings]:
    """A database and namespace for one child process, dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    dbname = f"tasktrail_test_{suffix}"
    yield settings.model_copy(
        update={"postgres_dsn": make_conninfo(BASE_DSN, dbname=dbname), "namespace": f"t_{suffix}"}
    )
    with psycopg.connect(BASE_DSN, autocommit=True) as conn:
        conn.execute(SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(dbname)))


@pytest.fixture
def ws(own: Settings) -> Iterator[WriteSide]:
    write_side = bootstrap(own)
    yield write_side
    write_side.close()


@pytest.fixture
async def observer(own: Settings) -> AsyncIterator[str]:
    """A queue bound to every event of the namespace's exchange, deleted afterwards."""
    exchange, queue = exchange_name(own.namespace), f"{own.namespace}.observer"
    await broker.bound_queue(own.rabbitmq_url, exchange, queue)
    yield queue
    await broker.delete(own.rabbitmq_url, queues=(queue,), exchanges=(exchange,))


def start(own: Settings, *args: str) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "TASKTRAIL_POSTGRES_DSN": own.postgres_dsn,
        "TASKTRAIL_NAMESPACE": own.namespace,
        "TASKTRAIL_ENV": "test",
        "TASKTRAIL_LOG_JSON": "true",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def terminate(process: subprocess.Popen[bytes], within: float) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    return exited(process, within)


def exited(process: subprocess.Popen[bytes], within: float) -> tuple[int, str]:
    """The exit code and output, or the process killed and a failure."""
    try:
        output, _ = process.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"still running {within}s after SIGTERM:\n{output.decode()[-3000:]}")
    return process.returncode, output.decode()


def tracked(n: int, now: datetime) -> Envelope[ActivityTracked]:
    return Envelope(
        ActivityTracked(event_type="shutdown", event_name=f"e{n}"),
        event_id=uuid.uuid4(), stream_id=uuid.uuid4(), stream_version=1, occurred_at=now,
    )  # fmt: skip


def append_events(ws: WriteSide, count: int) -> list[int]:
    """Appends ``count`` events in one transaction; their positions."""
    ws.store.append([tracked(n, datetime.now(UTC)) for n in range(count)])
    return [e.position for e in ws.store.read_all(0, count + 1) if e.position is not None]


async def queued(url: str, queue: str) -> int:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, durable=True, passive=True)
        return declared.declaration_result.message_count or 0


async def delivered_positions(url: str, queue: str) -> list[int]:
    return [int(m.headers["position"]) for m in await broker.drain(url, queue)]  # type: ignore[arg-type]


async def test_sigterm_stops_the_relay_after_its_confirmed_batch_and_a_restart_loses_nothing(
    own: Settings, ws: WriteSide, observer: str
) -> None:
    stored = append_events(ws, EVENTS)
    relay = start(own, "relay")
    deadline = time.monotonic() + 30
    while await queued(own.rabbitmq_url, observer) == 0:
        assert time.monotonic() < deadline, "the relay published nothing"
        await asyncio.sleep(0.01)

    code, output = terminate(relay, within=20)
    position = ws.store.get_position("relay")
    first_run = await delivered_positions(own.rabbitmq_url, observer)

    assert code == 0, output[-3000:]
    assert '"relay stopped"' in output
    assert 0 < position < stored[-1], "SIGTERM arrived while it was publishing"
    assert sorted(first_run) == [p for p in stored if p <= position], (
        "the stored position is exactly what was confirmed: nothing past it was sent"
    )

    relay = start(own, "relay")
    deadline = time.monotonic() + 30
    while ws.store.get_position("relay") < stored[-1]:
        assert time.monotonic() < deadline, "the restarted relay did not catch up"
        await asyncio.sleep(0.05)
    code, output = terminate(relay, within=20)
    second_run = await delivered_positions(own.rabbitmq_url, observer)

    assert code == 0, output[-3000:]
    assert sorted(first_run + second_run) == stored, "everything published, exactly once"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_sigterm_lets_in_flight_commands_finish_and_refuses_new_ones(
    own: Settings, ws: WriteSide
) -> None:
    port = free_port()
    server = start(own, "serve", "commands", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    # One connection per request: a keep-alive connection closed by the server between
    # requests would be a client race, not a shutdown fault.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        deadline = time.monotonic() + 30
        while True:
            try:
                if (await client.get("/health")).status_code == 200:
                    break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the command API did not start"
                await asyncio.sleep(0.1)

        async def register(n: int) -> int | str:
            name = f"u{uuid.uuid4().hex[:12]}{n}"
            body = {"email": f"{name}@example.com", "username": name,
                    "password": "Sturdy-Password-42"}  # fmt: skip
            try:
                return (await client.post("/api/v1/users", json=body)).status_code
            except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
                # Refused, or reset before a byte of answer: a connection that reached the
                # listening socket's backlog just as it closed. Never half an answer.
                return "refused"
            except httpx.HTTPError as error:
                return f"{type(error).__name__}: {error}"

        in_flight = [asyncio.create_task(register(n)) for n in range(30)]
        await asyncio.sleep(0.2)
        server.send_signal(signal.SIGTERM)
        after: list[int | str] = []
        while "refused" not in after and len(after) < 50:
            after.append(await register(len(after)))
            await asyncio.sleep(0.02)
        during = await asyncio.gather(*in_flight)
    code, output = exited(server, within=30)

    assert code == 0, output[-3000:]
    assert set(during) == {201}, f"every in-flight command completed: {during}"
    assert after[-1] == "refused", "new connections are refused once it stops"
    assert set(after) <= {201, "refused"}, f"never a broken response: {after}"

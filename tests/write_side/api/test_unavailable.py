"""PostgreSQL goes away: commands answer 503 promptly (never 500), then recover."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from common.settings import Settings
from common.tokens import TokenCodec
from tests.support.tcp_proxy import TcpProxy
from tests.write_side.api.given import new_user_body
from write_side.api.app import create_command_app
from write_side.bootstrap import bootstrap


@pytest.fixture
def proxy(settings: Settings) -> Iterator[TcpProxy]:
    params = conninfo_to_dict(settings.postgres_dsn)
    proxy = TcpProxy(str(params.get("host", "127.0.0.1")), int(params.get("port") or 5432))
    yield proxy.start()
    proxy.close()


@pytest.fixture
async def through_proxy(
    settings: Settings, proxy: TcpProxy, tokens: TokenCodec, admin_headers: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    dsn = make_conninfo(settings.postgres_dsn, host="127.0.0.1", port=proxy.port)
    ws = bootstrap(settings.model_copy(update={"postgres_dsn": dsn, "pg_timeout": 0.5}))
    transport = httpx.ASGITransport(app=create_command_app(ws, tokens))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", headers=admin_headers
    ) as client:
        yield client
    ws.close()


async def test_commands_answer_503_then_recover(
    through_proxy: httpx.AsyncClient, proxy: TcpProxy
) -> None:
    assert (await through_proxy.post("/api/v1/users", json=new_user_body())).status_code == 201
    proxy.cut()

    started = time.monotonic()
    down = await through_proxy.post("/api/v1/users", json=new_user_body())
    elapsed = time.monotonic() - started

    assert down.status_code == 503
    assert down.headers["retry-after"] == "5"
    assert down.headers["content-type"] == "application/problem+json"
    assert elapsed < 5, "an outage must not hang a request"

    proxy.start()
    assert await _recovers(through_proxy, within=15), "commands must succeed again once it is back"


async def _recovers(client: httpx.AsyncClient, within: float) -> bool:
    """The pool reconnects with its own backoff, so recovery takes a moment."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        response = await client.post("/api/v1/users", json=new_user_body())
        if response.status_code == 201:
            return True
        assert response.status_code == 503
        await asyncio.sleep(0.2)
    return False


async def test_readiness_reports_postgres_down(
    through_proxy: httpx.AsyncClient, proxy: TcpProxy
) -> None:
    proxy.cut()

    ready = await through_proxy.get("/health/ready")
    live = await through_proxy.get("/health")

    assert ready.status_code == 503
    assert ready.json()["checks"] == {"postgres": "down"}
    assert live.status_code == 200

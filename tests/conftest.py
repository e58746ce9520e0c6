"""Fixtures that build real infrastructure: a throwaway PostgreSQL database per session."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.sql import SQL, Identifier

from common.settings import Settings
from write_side.api.app import create_command_app
from write_side.bootstrap import WriteSide, bootstrap

BASE_DSN = os.environ.get(
    "TASKTRAIL_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    """Settings for a database and namespace of this session's own, dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    dbname = f"tasktrail_test_{suffix}"
    yield Settings(
        env="test",
        postgres_dsn=make_conninfo(BASE_DSN, dbname=dbname),
        namespace=f"test_{suffix}",
        log_json=True,
    )
    with psycopg.connect(BASE_DSN, autocommit=True) as conn:
        conn.execute(SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(dbname)))


@pytest.fixture(scope="session")
def write_side(settings: Settings) -> Iterator[WriteSide]:
    ws = bootstrap(settings)
    yield ws
    ws.close()


@pytest.fixture(scope="session")
async def commands(write_side: WriteSide) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the command app; sync endpoints run in real worker threads."""
    transport = httpx.ASGITransport(app=create_command_app(write_side))
    async with httpx.AsyncClient(transport=transport, base_url="http://tasktrail") as client:
        yield client

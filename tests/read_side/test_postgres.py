"""The PostgreSQL read store's own behaviour, beyond the port's contract suite."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

from read_side.store import Table
from tests.support.stores import fresh_store

NOTES = Table("notes")


async def test_a_pooled_connection_is_pinged_only_after_sitting_idle(
    monkeypatch: pytest.MonkeyPatch, write_side: Any
) -> None:
    pings: list[object] = []
    ping = AsyncConnectionPool.check_connection

    async def counted(conn: psycopg.AsyncConnection[Any]) -> None:
        pings.append(conn)
        await ping(conn)

    monkeypatch.setattr(AsyncConnectionPool, "check_connection", staticmethod(counted))
    async with fresh_store(write_side.settings.postgres_dsn) as store:
        await store.create([NOTES])
        before = len(pings)
        for _ in range(5):
            await store.get(NOTES, "a")
        assert len(pings) - before <= 1, "not each reuse"


async def test_a_read_on_a_connection_the_server_cut_is_tried_again(write_side: Any) -> None:
    """As after a server restart under load: the pooled connections were used a moment
    ago (so they are not pinged), and the server has since ended their sessions."""
    name = f"cut_{uuid.uuid4().hex[:8]}"
    dsn = make_conninfo(write_side.settings.postgres_dsn, application_name=name)
    async with fresh_store(dsn) as store:
        await store.create([NOTES])
        await asyncio.gather(*(store.get(NOTES, "a") for _ in range(4)))
        with psycopg.connect(write_side.settings.postgres_dsn, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) "
                "FROM pg_stat_activity WHERE application_name = %s",
                (name,),
            ).fetchone()
        assert ended is not None
        assert ended[0] >= 1
        assert await store.get(NOTES, "a") is None

"""PostgreSQL connection pools as tasktrail opens them, pinging idle connections only.

Under load a pooled connection is taken again within milliseconds, and pinging it
each time (psycopg_pool's ``check_connection`` as the ``check`` callback) is a second
round trip per query: py-spy put it at 30% of a command worker's time and 10% of a
projector's. A connection left unused for ``idle`` seconds may have been cut by a
server restart or a firewall, so it is pinged before use; one broken while in use
fails its query, and the caller decides whether to try again on a fresh one.

Both pools take it through their public ``check`` and ``reset`` callbacks: ``reset``
runs as a connection comes back, which is when its idle time starts.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from weakref import WeakKeyDictionary

import psycopg
from psycopg import AsyncConnection, Connection, sql
from psycopg_pool import AsyncConnectionPool, ConnectionPool


class PingWhenIdle:
    def __init__(self, idle: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle = idle
        self._clock = clock
        self._returned: WeakKeyDictionary[object, float] = WeakKeyDictionary()

    def due(self, conn: object) -> bool:
        """True for a new connection, or one back in the pool for longer than ``idle``."""
        return self._clock() - self._returned.get(conn, float("-inf")) > self.idle

    def returned(self, conn: object) -> None:
        self._returned[conn] = self._clock()

    def check(self, conn: Connection[Any]) -> None:
        """ConnectionPool's ``check`` callback."""
        if self.due(conn):
            ConnectionPool.check_connection(conn)

    async def check_async(self, conn: AsyncConnection[Any]) -> None:
        """AsyncConnectionPool's ``check`` callback."""
        if self.due(conn):
            await AsyncConnectionPool.check_connection(conn)

    async def returned_async(self, conn: AsyncConnection[Any]) -> None:
        """AsyncConnectionPool's ``reset`` callback."""
        self.returned(conn)


async def open_async_pool(
    dsn: str,
    *,
    name: str,
    max_size: int,
    wait: float,
    statement_timeout: float,
    configure: Callable[[AsyncConnection[Any]], Awaitable[None]] | None = None,
) -> AsyncConnectionPool[AsyncConnection[Any]]:
    """An autocommit pool, opened without waiting for the server: an unreachable one
    shows on first use, as PoolTimeout within ``wait`` seconds (which bounds opening a
    connection too). No statement runs longer than ``statement_timeout`` seconds."""

    async def configured(conn: AsyncConnection[Any]) -> None:
        await conn.execute(
            sql.SQL("SET statement_timeout = {}").format(int(statement_timeout * 1000))
        )
        if configure is not None:
            await configure(conn)

    pings = PingWhenIdle()
    pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
        dsn,
        min_size=1,
        max_size=max_size,
        timeout=wait,
        kwargs={"autocommit": True, "connect_timeout": max(1, round(wait))},
        configure=configured,
        check=pings.check_async,
        reset=pings.returned_async,
        open=False,
        name=name,
    )
    await pool.open(wait=False)
    return pool


async def fetch(
    pool: AsyncConnectionPool[AsyncConnection[Any]],
    statement: bytes | sql.Composed,
    params: Sequence[Any],
) -> list[Any]:
    """The rows of one read.

    A connection is pinged only after sitting idle, so one cut by a server restart under
    load fails its read. A restart cuts them all: the pool then checks every idle
    connection (discarding the dead ones), and the read is tried once more. Errors are
    psycopg's and the pool's, for the caller to name.
    """
    for attempt in (1, 2):
        async with pool.connection() as conn:
            try:
                cursor = await conn.execute(statement, params)
                rows: list[Any] = await cursor.fetchall()
                return rows
            except psycopg.OperationalError:
                if attempt == 2 or not conn.broken:
                    raise
        await pool.check()
    raise AssertionError("the second attempt returns or raises")

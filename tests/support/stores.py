"""Read stores of a test's own: a PostgreSQL schema each, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg.sql import SQL, Identifier

from read_side.postgres import PostgresReadStore


@asynccontextmanager
async def fresh_store(dsn: str, prefix: str = "read") -> AsyncIterator[PostgresReadStore]:
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    store = await PostgresReadStore.connect(dsn, schema=schema, max_size=4)
    try:
        yield store
    finally:
        await store.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(schema)))


async def every_document(dsn: str, schema: str = "read") -> list[object]:
    """The body of every document in every table of the schema: for tests that look for
    what must never be stored."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,),
        )
        bodies: list[object] = []
        for (table,) in await cursor.fetchall():
            rows = await conn.execute(
                SQL("SELECT body FROM {}.{}").format(Identifier(schema), Identifier(table))
            )
            bodies += [body for (body,) in await rows.fetchall()]
        return bodies

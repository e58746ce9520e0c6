"""The read store on PostgreSQL: one table per read model, a key and a jsonb body.

Each declared field is an expression index on the body (text in the "C" collation, so
that order is byte order, as in MongoDB; integers as bigint); a search field gets a
trigram index where pg_trgm can be had. Tables live in a schema of their own (``read``),
in the event store's database unless TASKTRAIL_READ_DSN names another; nothing here
reads the event store's tables. A commit is one transaction sent in one pipeline. A
table that does not exist yet reads as empty, as a MongoDB collection does: a query
process may start before any projector has created its tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from typing import Any, LiteralString, Self

import orjson
import psycopg
import structlog
from psycopg import AsyncConnection, sql
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from common.pools import fetch, open_async_pool
from read_side.store import (
    Changes,
    Conflict,
    Criteria,
    Document,
    Field,
    Scalar,
    StoreUnavailable,
    Table,
)

log = structlog.get_logger("tasktrail.read_store")


class PostgresReadStore:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[Any]], schema: str) -> None:
        self._pool = pool
        self.schema = schema
        self._trigrams: bool | None = None
        self._statements: dict[tuple[str, str], bytes] = {}

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        schema: str = "read",
        max_size: int = 10,
        pool_timeout: float = 3.0,
        statement_timeout: float = 30.0,
    ) -> Self:
        """Opens a pool without waiting for it: an unreachable server shows on first use,
        as StoreUnavailable within ``pool_timeout`` seconds."""

        async def configure(conn: AsyncConnection[Any]) -> None:
            set_json_loads(orjson.loads, conn)

        pool = await open_async_pool(
            dsn,
            name="read-store",
            max_size=max_size,
            wait=pool_timeout,
            statement_timeout=statement_timeout,
            configure=configure,
        )
        return cls(pool, schema)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        try:
            async with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as error:
            raise StoreUnavailable(f"PostgreSQL read store: {error}") from error

    async def _rows(self, statement: bytes | sql.Composed, params: Sequence[Any]) -> list[Any]:
        """What a read returns; none from a table (or schema) not created yet."""
        try:
            return await fetch(self._pool, statement, params)
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
            return []
        except (psycopg.OperationalError, PoolTimeout) as error:
            raise StoreUnavailable(f"PostgreSQL read store: {error}") from error

    def _table(self, table: Table) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(table.name))

    def _statement(self, name: str, table: Table) -> bytes:
        """One of _STATEMENTS on ``table``, composed once: composing it on every call
        was a tenth of a projector's CPU."""
        statement = self._statements.get((name, table.name))
        if statement is None:
            composed = sql.SQL(_STATEMENTS[name]).format(table=self._table(table))
            statement = self._statements[name, table.name] = composed.as_bytes(None)
        return statement

    async def create(self, tables: Sequence[Table]) -> None:
        """One creator at a time (an advisory lock): PostgreSQL's IF NOT EXISTS is not safe
        against a concurrent twin, and every projector creates its tables as it starts."""
        async with self._connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            await conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
            )
            trigrams = await self._has_trigrams(conn) if any(t.search for t in tables) else False
            for table in tables:
                await conn.execute(
                    sql.SQL(
                        "CREATE TABLE IF NOT EXISTS {} "
                        '(key text COLLATE "C" PRIMARY KEY, body jsonb NOT NULL)'
                    ).format(self._table(table))
                )
                for number, fields in enumerate(table.indexes):
                    columns = [_expression(table.field(name)) for name in fields]
                    await conn.execute(
                        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
                            sql.Identifier(f"{table.name}__i{number}"),
                            self._table(table),
                            sql.SQL(", ").join([*columns, sql.SQL("key")]),
                        )
                    )
                for name in table.search if trigrams else ():
                    await conn.execute(
                        sql.SQL(
                            "CREATE INDEX IF NOT EXISTS {} ON {} "
                            "USING gin ((body->>{}) gin_trgm_ops)"
                        ).format(
                            sql.Identifier(f"{table.name}__s_{name}"),
                            self._table(table),
                            sql.Literal(name),
                        )
                    )

    async def _has_trigrams(self, conn: AsyncConnection[Any]) -> bool:
        """Searches work without pg_trgm, by scanning; with it, by index."""
        if self._trigrams is None:
            try:
                async with conn.transaction():  # a savepoint: a refusal leaves the rest
                    await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                self._trigrams = True
            except psycopg.Error as error:
                log.warning("pg_trgm unavailable: searches scan", error=str(error))
                self._trigrams = False
        return self._trigrams

    async def drop(self, tables: Sequence[Table]) -> None:
        if not tables:
            return
        async with self._connection() as conn:
            await conn.execute(
                sql.SQL("DROP TABLE IF EXISTS {}").format(
                    sql.SQL(", ").join(self._table(t) for t in tables)
                )
            )

    async def get(self, table: Table, key: str) -> Document | None:
        rows = await self._rows(self._statement("get", table), (key,))
        return _document(rows[0][0]) if rows else None

    async def get_many(self, table: Table, keys: Collection[str]) -> dict[str, Document]:
        if not keys:
            return {}
        rows = await self._rows(self._statement("get_many", table), (list(keys),))
        return {key: _document(body) for key, body in rows}

    async def find(self, table: Table, query: Criteria) -> list[Document]:
        where, params = _where(table, query)
        order = [
            sql.SQL("{} {}").format(
                _expression(table.field(name)), sql.SQL("DESC" if descending else "ASC")
            )
            for name, descending in query.order
        ]
        last = "DESC" if query.order and query.order[-1][1] else "ASC"
        statement = sql.SQL("SELECT body FROM {} WHERE {} ORDER BY {}").format(
            self._table(table), where, sql.SQL(", ").join([*order, sql.SQL("key " + last)])
        )
        if query.limit is not None:
            statement += sql.SQL(" LIMIT {}").format(query.limit)
        if query.offset:
            statement += sql.SQL(" OFFSET {}").format(query.offset)
        return [_document(row[0]) for row in await self._rows(statement, params)]

    async def scan(
        self, table: Table, *, after: str | None = None, limit: int = 1000
    ) -> list[tuple[str, Document]]:
        rows = await self._rows(self._statement("scan", table), (after or "", after is None, limit))
        return [(key, _document(body)) for key, body in rows]

    async def count(self, table: Table, query: Criteria) -> int:
        where, params = _where(table, query)
        rows = await self._rows(
            sql.SQL("SELECT count(*) FROM {} WHERE {}").format(self._table(table), where), params
        )
        return int(rows[0][0]) if rows else 0

    async def commit(self, changes: Changes) -> None:
        if not changes and not changes.expect:
            return
        guarded: dict[Table, set[str]] = {table: set() for table, _ in changes.expect}
        for table, key in changes.expect:
            guarded[table].add(key)
            if key not in changes.puts.get(table, {}):
                raise ValueError(f"an expected revision needs its put: {table.name}/{key}")
        async with self._connection() as conn, conn.transaction():
            async with conn.pipeline():
                checks = [
                    (await self._guarded_put(conn, table, key, changes.puts[table][key], rev),
                     table, key, rev)
                    for (table, key), rev in changes.expect.items()
                ]  # fmt: skip
                for table, keys in changes.deletes.items():
                    if keys:
                        await conn.execute(self._statement("delete", table), (list(keys),))
                for table, documents in changes.puts.items():
                    skipped = guarded.get(table, set())
                    kept = {k: d for k, d in documents.items() if k not in skipped}
                    await self._write(conn, table, kept, replace=True)
                for table, documents in changes.inserts.items():
                    await self._write(conn, table, documents, replace=False)
            for cursor, table, key, revision in checks:
                if await cursor.fetchone() is None:
                    raise Conflict(f"{table.name}/{key} is no longer at revision {revision}")

    async def _guarded_put(
        self, conn: AsyncConnection[Any], table: Table, key: str, document: Document, rev: int
    ) -> psycopg.AsyncCursor[Any]:
        """Writes the document only if the stored one is at ``rev`` (0: none is stored);
        the cursor then holds one row. Atomic against a concurrent writer of the key."""
        body = orjson.dumps(document).decode()
        if rev == 0:
            return await conn.execute(self._statement("insert_new", table), (key, body))
        return await conn.execute(self._statement("update_at", table), (body, key, rev))

    async def _write(
        self,
        conn: AsyncConnection[Any],
        table: Table,
        documents: dict[str, Document],
        *,
        replace: bool,
    ) -> None:
        if not documents:
            return
        await conn.execute(
            self._statement("replace" if replace else "insert", table),
            (list(documents), [orjson.dumps(d).decode() for d in documents.values()]),
        )

    async def ping(self) -> None:
        async with self._connection() as conn:
            await conn.execute("SELECT 1")

    async def close(self) -> None:
        await self._pool.close()


_WRITE_MANY: LiteralString = (
    "INSERT INTO {table} (key, body) SELECT k, b::jsonb FROM unnest(%s::text[], %s::text[])"
    " AS u(k, b) ON CONFLICT (key) "
)
_STATEMENTS: dict[str, LiteralString] = {
    "get": "SELECT body FROM {table} WHERE key = %s",
    "get_many": "SELECT key, body FROM {table} WHERE key = ANY(%s)",
    "scan": "SELECT key, body FROM {table} WHERE key > %s OR %s ORDER BY key LIMIT %s",
    "delete": "DELETE FROM {table} WHERE key = ANY(%s)",
    "insert_new": "INSERT INTO {table} (key, body) VALUES (%s, %s::jsonb) "
    "ON CONFLICT (key) DO NOTHING RETURNING 1",
    "update_at": "UPDATE {table} SET body = %s::jsonb WHERE key = %s "
    "AND coalesce((body->>'_rev')::bigint, 0) = %s RETURNING 1",
    "replace": _WRITE_MANY + "DO UPDATE SET body = EXCLUDED.body",
    "insert": _WRITE_MANY + "DO NOTHING",
}
"""The statements run on one table at a time, composed once per table (_statement)."""

_DDL_LOCK = 0x7461736B74726169
"""The advisory lock key of table creation ("taskrai" in ASCII)."""


def _document(body: Any) -> Document:
    assert isinstance(body, dict)
    return body


def _expression(field: Field) -> sql.Composable:
    text = sql.SQL("(body->>{})").format(sql.Literal(field.name))
    if field.kind == "integer":
        return sql.SQL("({}::bigint)").format(text)
    return sql.SQL('({} COLLATE "C")').format(text)


def _parameter(field: Field, value: Scalar) -> Scalar:
    """As the expression holds it: JSON text for a text field (true, 3), else the number."""
    if field.kind == "integer" or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _where(table: Table, query: Criteria) -> tuple[sql.Composable, list[Any]]:
    conditions: list[sql.Composable] = []
    params: list[Any] = []
    for name, value in query.where.items():
        field = table.field(name)
        if value is None:
            conditions.append(sql.SQL("{} IS NULL").format(_expression(field)))
        else:
            conditions.append(sql.SQL("{} = %s").format(_expression(field)))
            params.append(_parameter(field, value))
    for name, value in query.below.items():
        field = table.field(name)
        conditions.append(sql.SQL("{} < %s").format(_expression(field)))
        params.append(_parameter(field, value))
    if query.search:
        if not table.search:
            raise KeyError(f"{table.name} declares no search fields")
        pattern = "%" + _like_escaped(query.search) + "%"
        conditions.append(
            sql.SQL("({})").format(
                sql.SQL(" OR ").join(
                    sql.SQL("(body->>{}) ILIKE %s").format(sql.Literal(name))
                    for name in table.search
                )
            )
        )
        params.extend([pattern] * len(table.search))
    if not conditions:
        return sql.SQL("true"), params
    return sql.SQL(" AND ").join(conditions), params


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

"""The read store on MongoDB through PyMongo's async API: one collection per table.

A document is stored under its key as ``_id``, its fields beside it. Each of a table's
indexes is a compound index on its fields and then ``_id``, so that one index serves a
whole order (read_side.store.Criteria). Strings compare by their UTF-8 bytes, as the
PostgreSQL adapter's "C" collation does.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Self
from uuid import uuid4

import orjson
from bson import Binary
from bson.errors import InvalidDocument
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from read_side.store import (
    REV,
    Changes,
    Conflict,
    Criteria,
    Document,
    Field,
    Scalar,
    StoreUnavailable,
    Table,
    Unstorable,
)

_DUPLICATE_KEY = 11000
JOURNAL = "_journal"
REDO_AFTER = timedelta(seconds=60)
"""A journal entry younger than this may be its writer's batch still under way: it is
not redone, and a commit that meets it backs off (Conflict) instead."""
"""The collection of batches written down before they are applied (MongoReadStore)."""


@contextmanager
def _translated() -> Iterator[None]:
    """Raises the port's errors instead of the driver's, so no caller imports PyMongo.

    ConnectionFailure (with ServerSelectionTimeoutError, NetworkTimeout, AutoReconnect)
    is the common case; any other refusal of the server's is, to a caller, the same
    thing: the store cannot do this now."""
    try:
        yield
    except InvalidDocument as error:  # a NUL in a field name, a document over 16 MB
        raise Unstorable(str(error)) from error
    except PyMongoError as error:
        raise StoreUnavailable(f"MongoDB read store: {error}") from error


class MongoReadStore:
    """The read models of one MongoDB database.

    A commit takes no transaction (DESIGN.md: no design may need MongoDB's), so it first
    writes its whole batch down as one document of ``_journal`` (a single-document write
    is atomic), then applies the batch and deletes that entry. A batch cut short by a
    crash or a lost connection is applied again, whole, by the next commit of the same
    checkpoint (before that commit's own check) or by ``create``: every change is
    absolute (a whole document put, a delete, an insert if absent), so applying it twice
    is harmless. The expected documents (the checkpoint, which readers wait on) are
    checked before anything is written and written last, conditionally; an entry is
    keyed by the first of them, so a checkpoint has one batch in flight at a time."""

    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._client = client
        self._database = client[database]

    @classmethod
    def connect(
        cls, url: str, database: str, *, timeout_ms: int = 2000, socket_timeout_ms: int = 30_000
    ) -> Self:
        """Fails fast (``timeout_ms``) when MongoDB cannot be reached; a long write on a
        live connection (a rebuild's batch) may take up to ``socket_timeout_ms``."""
        with _translated():
            client: AsyncMongoClient[Document] = AsyncMongoClient(
                url,
                serverSelectionTimeoutMS=timeout_ms,
                connectTimeoutMS=timeout_ms,
                socketTimeoutMS=socket_timeout_ms,
            )
        return cls(client, database)

    def _collection(self, table: Table) -> AsyncCollection[Document]:
        return self._database[table.name]

    async def create(self, tables: Sequence[Table]) -> None:
        """Search fields get no index: a search scans what the other conditions leave.
        Then finishes any batch a crash left part-written, before a projector starts."""
        with _translated():
            for table in tables:
                for fields in table.indexes:
                    keys = [(table.field(name).name, ASCENDING) for name in fields]
                    await self._collection(table).create_index([*keys, ("_id", ASCENDING)])
        await self.recover()

    async def drop(self, tables: Sequence[Table]) -> None:
        with _translated():
            for table in tables:
                await self._collection(table).drop()

    async def get(self, table: Table, key: str) -> Document | None:
        with _translated():
            stored = await self._collection(table).find_one({"_id": key})
        return None if stored is None else _split(stored)[1]

    async def get_many(self, table: Table, keys: Collection[str]) -> dict[str, Document]:
        if not keys:
            return {}
        with _translated():
            found = await self._collection(table).find({"_id": {"$in": list(keys)}}).to_list()
        return dict(_split(stored) for stored in found)

    async def find(self, table: Table, query: Criteria) -> list[Document]:
        sort = [
            (table.field(name).name, DESCENDING if descending else ASCENDING)
            for name, descending in query.order
        ]
        last = DESCENDING if query.order and query.order[-1][1] else ASCENDING
        if query.limit == 0:  # to MongoDB, a limit of 0 is none at all
            return []
        with _translated():
            cursor = self._collection(table).find(
                _filter(table, query),
                sort=[*sort, ("_id", last)],
                skip=query.offset,
                limit=query.limit or 0,
            )
            return [_split(stored)[1] for stored in await cursor.to_list()]

    async def scan(
        self, table: Table, *, after: str | None = None, limit: int = 1000
    ) -> list[tuple[str, Document]]:
        if limit <= 0:
            return []
        filter = {} if after is None else {"_id": {"$gt": after}}
        with _translated():
            cursor = self._collection(table).find(filter, sort=[("_id", ASCENDING)], limit=limit)
            return [_split(stored) for stored in await cursor.to_list()]

    async def count(self, table: Table, query: Criteria) -> int:
        with _translated():
            return await self._collection(table).count_documents(_filter(table, query))

    async def commit(self, changes: Changes) -> None:
        if not changes:
            return
        for table, key in changes.expect:
            if key not in changes.puts.get(table, {}):
                raise ValueError(f"an expected revision needs its put: {table.name}/{key}")
        entry = journal_entry(changes)  # before the first write: Unstorable writes nothing
        journal = self._database[JOURNAL]
        with _translated():
            if changes.expect:
                left = await journal.find_one({"_id": entry["_id"]})
                if left is not None:  # it usually moves the checkpoint: the check then fails
                    if not _abandoned(left):
                        raise Conflict(f"another batch of {entry['_id']} is being applied")
                    await self._redo(left)
                await self._check(changes.expect)
            try:
                await journal.insert_one(entry)
            except DuplicateKeyError as error:
                raise Conflict(f"another batch of {entry['_id']} is being applied") from error
            try:  # again, now that the entry holds the guard: a rival may have been between
                await self._check(changes.expect)
            except Conflict:
                await self._forget(entry)
                raise
            await self._applied(entry, _payload(changes), guarded=True)

    async def recover(self) -> int:
        """Applies again every batch a crash left in the journal (older than REDO_AFTER:
        a younger one may be a live writer's); returns how many there were."""
        with _translated():
            left = await self._database[JOURNAL].find({}).to_list()
            abandoned = [entry for entry in left if _abandoned(entry)]
            for entry in abandoned:
                await self._redo(entry)
        return len(abandoned)

    async def _redo(self, entry: Document) -> None:
        await self._applied(entry, orjson.loads(bytes(entry["changes"])), guarded=False)

    async def _check(self, expect: dict[tuple[Table, str], int]) -> None:
        for (table, key), revision in expect.items():
            stored = await self._collection(table).find_one({"_id": key}, projection={REV: 1})
            current = 0 if stored is None else stored.get(REV)
            if current != revision:
                raise Conflict(f"{table.name}/{key} is at revision {current}, not {revision}")

    async def _applied(self, entry: Document, payload: dict[str, Any], *, guarded: bool) -> None:
        """Applies the batch, then deletes its entry (``batch`` tells it from a later one of
        the same ``_id``): the entry stays only if the store failed meanwhile."""
        try:
            await self._apply(payload, guarded=guarded)
        except (Conflict, InvalidDocument):
            # Conflict: another writer moved an expected document after the check; its
            # batch won. This batch's other writes stay: whole documents computed from
            # state the winner already has or will overwrite (while this entry is held,
            # only a redo of this very batch can move the checkpoint, writing the same
            # documents). InvalidDocument (over 16 MB, say): a redo would fail again.
            await self._forget(entry)
            raise
        await self._forget(entry)

    async def _forget(self, entry: Document) -> None:
        await self._database[JOURNAL].delete_one({"_id": entry["_id"], "batch": entry["batch"]})

    async def _apply(self, payload: dict[str, Any], *, guarded: bool) -> None:
        """Deletes, puts and inserts, then the expected documents, which readers wait on; a
        redo (not ``guarded``) writes those whatever their revision: it passed its check."""
        expect: dict[tuple[str, str], int] = {(t, key): rev for t, key, rev in payload["expect"]}
        for name, keys in payload["deletes"].items():
            await self._database[name].delete_many({"_id": {"$in": keys}})
        for name, documents in payload["puts"].items():
            replacements = [
                ReplaceOne({"_id": key}, _stored(key, document), upsert=True)
                for key, document in documents.items()
                if (name, key) not in expect
            ]
            if replacements:
                await self._database[name].bulk_write(replacements, ordered=False)
        for name, documents in payload["inserts"].items():
            stored = [_stored(key, document) for key, document in documents.items()]
            await self._insert(self._database[name], stored)
        for (name, key), rev in expect.items():
            document = _stored(key, payload["puts"][name][key])
            await self._expected_put(self._database[name], key, document, rev if guarded else None)

    @staticmethod
    async def _expected_put(
        collection: AsyncCollection[Document], key: str, stored: Document, rev: int | None
    ) -> None:
        """Writes the document only if the stored one is at ``rev`` (0: none is stored;
        None: whatever it is); atomic against a concurrent writer of the key."""
        if rev is None:
            await collection.replace_one({"_id": key}, stored, upsert=True)
        elif rev == 0:
            try:
                await collection.insert_one(stored)
            except DuplicateKeyError as error:
                raise Conflict(f"{collection.name}/{key} is no longer absent") from error
        elif (await collection.replace_one({"_id": key, REV: rev}, stored)).matched_count == 0:
            raise Conflict(f"{collection.name}/{key} is no longer at revision {rev}")

    @staticmethod
    async def _insert(collection: AsyncCollection[Document], stored: list[Document]) -> None:
        """Skips the keys already stored; ``_id`` is the collection's only unique index."""
        if not stored:
            return
        try:
            await collection.insert_many(stored, ordered=False)
        except BulkWriteError as error:
            refused = error.details.get("writeErrors", [])
            if error.details.get("writeConcernErrors") or any(
                item["code"] != _DUPLICATE_KEY for item in refused
            ):
                raise

    async def ping(self) -> None:
        with _translated():
            await self._database.command("ping")

    async def close(self) -> None:
        await self._client.close()


def journal_entry(changes: Changes) -> Document:
    """What ``commit`` writes down first: the changes as orjson bytes in a BSON binary,
    tables by name, so that no document key (dots, dollars) becomes a field name."""
    try:
        first = next((orjson.dumps([t.name, key]).decode() for t, key in changes.expect), None)
        body = Binary(orjson.dumps(_payload(changes)))
    except orjson.JSONEncodeError as error:  # a lone surrogate, an integer over 64 bits
        raise Unstorable(str(error)) from error
    return {
        "_id": first or uuid4().hex,
        "batch": uuid4().hex,
        "at": datetime.now(UTC),
        "changes": body,
    }


def _abandoned(entry: Document) -> bool:
    written: datetime = entry["at"]
    if written.tzinfo is None:  # PyMongo gives naive UTC unless told otherwise
        written = written.replace(tzinfo=UTC)
    return datetime.now(UTC) - written >= REDO_AFTER


def _payload(changes: Changes) -> dict[str, Any]:
    for documents in (*changes.puts.values(), *changes.inserts.values()):
        for key, document in documents.items():
            if "_id" in document:
                raise Unstorable(f"the document of key {key!r} holds MongoDB's own field _id")
    return {
        "deletes": {t.name: sorted(keys) for t, keys in changes.deletes.items() if keys},
        "puts": {t.name: documents for t, documents in changes.puts.items()},
        "inserts": {t.name: documents for t, documents in changes.inserts.items()},
        "expect": [[t.name, key, rev] for (t, key), rev in changes.expect.items()],
    }


def _stored(key: str, document: Document) -> Document:
    """``_id`` first: PyMongo refuses a replacement whose first field starts with ``$``."""
    return {"_id": key, **document}


def _split(stored: Document) -> tuple[str, Document]:
    key = stored.pop("_id")
    return key, stored


def _value(field: Field, value: Scalar) -> Scalar:
    """What the field holds: an integer field compares numbers, as PostgreSQL casts."""
    if field.kind == "integer" and isinstance(value, str):
        return int(value)
    return value


def _filter(table: Table, query: Criteria) -> dict[str, Any]:
    clauses: list[dict[str, Any]] = []
    for name, value in query.where.items():  # None matches a null or absent field
        clauses.append({name: _value(table.field(name), value)})
    for name, value in query.below.items():
        clauses.append({name: {"$ne": None, "$lt": _value(table.field(name), value)}})
    if query.search:
        if not table.search:
            raise KeyError(f"{table.name} declares no search fields")
        pattern = {"$regex": re.escape(query.search), "$options": "i"}
        clauses.append({"$or": [{name: pattern} for name in table.search]})
    return {"$and": clauses} if clauses else {}

"""The read store in process, on mongomock, for machines without MongoDB.

Its documents live only as long as the process, so the composition root rebuilds them from
the event store on start. mongomock is synchronous but never waits on I/O, so coroutines
call it directly: a thread would cost more than the call.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import mongomock
from mongomock.filtering import filter_applies
from pymongo.errors import BulkWriteError

from read_side.mongo import (
    count_inserted,
    find_options,
    require_taken_ids,
    translated_errors,
    update_result,
)
from read_side.store import Document, DuplicateKey, Filter, SortSpec, UpdateResult


def _by_id_first(raw: mongomock.Collection[Document]) -> None:
    """Makes a filter on a plain ``_id`` look at that one document, not at all of them.

    mongomock answers every find, update, count and delete by testing each document
    of the collection (35 ms per lookup at 40,000 documents), which makes a replay
    quadratic. All of them go through ``Collection._iter_documents``, so this wraps
    that one method of this one collection object; the contract tests in
    tests/read_side check the results are unchanged.
    """
    internals: Any = raw  # the stubs do not declare mongomock's private attributes
    if getattr(internals, "_tasktrail_by_id", False):  # mongomock reuses collection objects
        return
    internals._tasktrail_by_id = True
    scan_all = internals._iter_documents
    store = internals._store

    def iter_documents(filter: Any) -> Iterator[Document]:
        key = filter.get("_id") if isinstance(filter, Mapping) else None
        if key is None or isinstance(key, Mapping | list):
            return scan_all(filter)  # type: ignore[no-any-return]
        if key not in store:
            return iter(())
        document = store[key]
        applies = filter_applies(filter, document)  # type: ignore[no-untyped-call]
        return iter((document,)) if applies else iter(())

    internals._iter_documents = iter_documents


class MemoryCollection:
    def __init__(self, raw: mongomock.Collection[Document]) -> None:
        _by_id_first(raw)
        self._raw = raw

    @property
    def name(self) -> str:
        return self._raw.name

    async def find_one(
        self, filter: Filter, projection: Mapping[str, Any] | None = None
    ) -> Document | None:
        return self._raw.find_one(filter, **find_options(projection=projection))

    async def find(
        self,
        filter: Filter,
        *,
        sort: SortSpec = (),
        skip: int = 0,
        limit: int = 0,
        projection: Mapping[str, Any] | None = None,
    ) -> list[Document]:
        options = find_options(sort=sort, skip=skip, limit=limit, projection=projection)
        return list(self._raw.find(filter, **options))

    async def count(self, filter: Filter) -> int:
        return self._raw.count_documents(filter)

    async def insert_one(self, document: Document) -> bool:
        try:
            with translated_errors():
                self._raw.insert_one(document)
        except DuplicateKey:
            await require_taken_ids(self, [document])
            return False
        return True

    async def insert_many(self, documents: Sequence[Document]) -> int:
        if not documents:
            return 0
        try:
            result = self._raw.insert_many(list(documents), ordered=False)
        except BulkWriteError as error:
            return await count_inserted(self, error)
        return len(result.inserted_ids)

    async def update_one(
        self, filter: Filter, update: Mapping[str, Any], *, upsert: bool = False
    ) -> UpdateResult:
        with translated_errors():
            return update_result(self._raw.update_one(filter, update, upsert=upsert))

    async def delete_one(self, filter: Filter) -> int:
        return self._raw.delete_one(filter).deleted_count

    async def delete_many(self, filter: Filter) -> int:
        return self._raw.delete_many(filter).deleted_count

    async def aggregate(self, pipeline: Sequence[Mapping[str, Any]]) -> list[Document]:
        return list(self._raw.aggregate(list(pipeline)))

    async def create_index(self, keys: SortSpec, *, unique: bool = False) -> None:
        self._raw.create_index(list(keys), unique=unique)


class MemoryReadStore:
    """The read models of one database held by a private mongomock client."""

    def __init__(self, database: str = "tasktrail") -> None:
        self._client: mongomock.MongoClient[Document] = mongomock.MongoClient()
        self._database = self._client[database]

    def collection(self, name: str) -> MemoryCollection:
        return MemoryCollection(self._database[name])

    async def collection_names(self) -> list[str]:
        return self._database.list_collection_names()

    async def rename(self, source: str, target: str) -> None:
        self._database[source].rename(target, dropTarget=True)

    async def drop(self, name: str) -> None:
        self._database.drop_collection(name)

    async def ping(self) -> None:
        """Always answers: the store is this process."""

    async def close(self) -> None:
        """Frees the documents, which nothing else can reach."""
        self._client.drop_database(self._database.name)

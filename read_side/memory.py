"""The read store in process, on mongomock, for machines without MongoDB.

Its documents live only as long as the process, so the composition root rebuilds them from
the event store on start. mongomock is synchronous but never waits on I/O, so coroutines
call it directly: a thread would cost more than the call.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import mongomock
from mongomock.aggregate import process_pipeline
from mongomock.filtering import filter_applies
from mongomock.store import CollectionStore
from pymongo.errors import BulkWriteError

from read_side.mongo import (
    count_inserted,
    find_options,
    require_taken_ids,
    translated_errors,
    update_result,
)
from read_side.store import Document, DuplicateKey, Filter, SortSpec, UpdateResult


class _IndexedStore(CollectionStore):
    """mongomock's document store plus equality indexes on chosen top-level fields.

    mongomock tests every document of a collection for every find, update, count
    and delete (35 ms per lookup at 40,000 documents), which makes a replay
    quadratic. Inserts and deletes reach the indexes through ``__setitem__`` and
    ``__delitem__``; updates change documents in place, so MemoryCollection
    re-indexes what it updated. A field that ever holds a list or a document is
    not indexed (MongoDB's equality would look inside it).
    """

    def _state(self) -> tuple[dict[str, dict[Any, dict[Any, None]]], dict[Any, dict[str, Any]]]:
        """(field -> value -> ids, id -> its indexed values), kept on the instance."""
        if "_tt_indexes" not in self.__dict__:
            self.__dict__["_tt_indexes"] = {}
            self.__dict__["_tt_values"] = {}
        return self.__dict__["_tt_indexes"], self.__dict__["_tt_values"]

    def add_index(self, field: str) -> None:
        indexes, _ = self._state()
        if field not in indexes:
            indexes[field] = {}
            self.reindex_all()

    def reindex_all(self) -> None:
        indexes, values = self._state()
        for buckets in indexes.values():
            buckets.clear()
        values.clear()
        for key in list(self._documents):
            self.reindex(key)

    def reindex(self, key: Any) -> None:
        indexes, values = self._state()
        for field, value in values.pop(key, {}).items():
            indexes.get(field, {}).get(value, {}).pop(key, None)
        document = self._documents.get(key)
        if document is None or not indexes:
            return
        current = {}
        for field in list(indexes):
            value = document.get(field)
            if not _plain(value):
                del indexes[field]  # not safe to index: back to scanning
                continue
            indexes[field].setdefault(value, {})[key] = None
            current[field] = value
        values[key] = current

    def candidates(self, filter: Mapping[str, Any]) -> list[Document] | None:
        """The documents that may match, or None when no index can tell."""
        key = filter.get("_id")
        if key is not None and _plain(key):
            found = self._documents.get(key)
            return [] if found is None else [found]
        if isinstance(key, Mapping) and set(key) == {"$in"} and all(map(_plain, key["$in"])):
            return [self._documents[k] for k in key["$in"] if k in self._documents]
        indexes, _ = self._state()
        unique = {
            k for index in self.indexes.values() if index.get("unique") for k, _ in index["key"]
        }
        for field, value in filter.items():
            # mongomock checks a unique index by looking up, mid-update, the value just
            # written: that must see the document, so such fields are always scanned
            if field in indexes and field not in unique and _plain(value):
                ids = list(indexes[field].get(value, {}))
                return [self._documents[k] for k in ids if k in self._documents]
        return None

    def stored(self, key: Any) -> Document | None:
        """The stored document itself, not a copy."""
        return self._documents.get(key)

    def __setitem__(self, key: Any, document: Document) -> None:
        super().__setitem__(key, document)
        self.reindex(key)

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self.reindex(key)

    def drop(self) -> None:
        super().drop()
        self.reindex_all()


def _plain(value: object) -> bool:
    return not isinstance(value, Mapping | list | tuple | set)


_INT64 = range(-(2**63), 2**63)


def _same(a: object, b: object) -> bool:
    """Equality as comparing two documents sees it (identity first, as for NaN)."""
    return a is b or a == b


def _number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (isinstance(value, float) or value in _INT64)
    )


def _bson_plain(value: object) -> bool:
    """A value BSON stores as it is in Python: what JSON holds, ints within 64 bits."""
    if value is None or isinstance(value, bool | str | float):
        return True
    if isinstance(value, int):
        return value in _INT64
    if isinstance(value, list):
        return all(map(_bson_plain, value))
    if isinstance(value, dict):
        return all(
            isinstance(k, str) and "\0" not in k and _bson_plain(v) for k, v in value.items()
        )
    return False


def _indexed(raw: mongomock.Collection[Document]) -> _IndexedStore:
    """Turns this collection's store into an indexed one (once) and routes its lookups
    through the indexes; the contract tests in tests/read_side check nothing changes."""
    internals: Any = raw  # the stubs do not declare mongomock's private attributes
    store = internals._store
    if not isinstance(store, _IndexedStore):
        store.__class__ = _IndexedStore
    if not getattr(internals, "_tt_routed", False):
        internals._tt_routed = True
        scan_all = internals._iter_documents

        def iter_documents(filter: Any) -> Iterator[Document]:
            found = store.candidates(filter) if isinstance(filter, Mapping) else None
            if found is None:
                return scan_all(filter)  # type: ignore[no-any-return]
            return (d for d in found if filter_applies(filter, d))

        internals._iter_documents = iter_documents
    return store  # type: ignore[no-any-return]


class MemoryCollection:
    def __init__(self, raw: mongomock.Collection[Document]) -> None:
        self._store = _indexed(raw)
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
        done = self._update_in_place(filter, update, upsert)
        if done is not None:
            return done
        try:
            with translated_errors():
                return update_result(self._raw.update_one(filter, update, upsert=upsert))
        finally:  # mongomock updates in place, past the store's hooks
            key = filter.get("_id")
            if key is not None and _plain(key):
                self._store.reindex(key)
            else:
                self._store.reindex_all()

    def _update_in_place(
        self, filter: Filter, update: Mapping[str, Any], upsert: bool
    ) -> UpdateResult | None:
        """The projectors' common update, done straight on the stored document: one found
        by ``_id``, changed by ``$set`` and ``$inc`` of top-level fields to plain values.
        None for anything else, which mongomock does. mongomock deep-copies the whole
        document to tell whether it changed and walks every field path; that was a third
        of a rebuild's time (py-spy). A property test holds this to mongomock's results."""
        key = filter.get("_id")
        if (
            key is None
            or not _plain(key)
            or not all(map(_bson_plain, filter.values()))
            or not update
            or not set(update) <= {"$set", "$inc"}
        ):
            return None
        sets, incs = update.get("$set", {}), update.get("$inc", {})
        fields = [*sets, *incs]
        if (
            any(not isinstance(f, str) or not f or "." in f or f[0] == "$" or "\0" in f
                or f == "_id" for f in fields)
            or len(set(fields)) != len(fields)
            or not all(map(_bson_plain, sets.values()))
            or not all(map(_number, incs.values()))
            or set(fields) & self._unique_fields()
        ):  # fmt: skip
            return None
        document = self._store.stored(key)
        if document is None or not all(_number(document.get(f, 0)) for f in incs):
            return None
        if not filter_applies(filter, document):
            return None if upsert else UpdateResult(matched=0, modified=0, upserted=False)
        before = {f: document[f] for f in fields if f in document}
        for operator, changes in update.items():
            for field, value in changes.items():
                if operator == "$set":
                    document[field] = copy.deepcopy(value)
                else:
                    document[field] = document.get(field, 0) + value
        modified = any(f not in before or not _same(before[f], document[f]) for f in fields)
        if modified:
            self._store.reindex(key)
        return UpdateResult(matched=1, modified=int(modified), upserted=False)

    def _unique_fields(self) -> set[str]:
        return {
            field
            for index in self._store.indexes.values()
            if index.get("unique")
            for field, _ in index["key"]
        }

    async def delete_one(self, filter: Filter) -> int:
        return self._raw.delete_one(filter).deleted_count

    async def delete_many(self, filter: Filter) -> int:
        return self._raw.delete_many(filter).deleted_count

    async def aggregate(self, pipeline: Sequence[Mapping[str, Any]]) -> list[Document]:
        """A leading $match is answered through the indexes, like a find."""
        stages = list(pipeline)
        if stages and "$match" in stages[0]:
            matched = list(self._raw.find(stages[0]["$match"]))
            return list(process_pipeline(matched, self._raw.database, stages[1:], None))
        return list(self._raw.aggregate(stages))

    async def create_index(self, keys: SortSpec, *, unique: bool = False) -> None:
        self._raw.create_index(list(keys), unique=unique)
        self._store.add_index(keys[0][0])


class MemoryReadStore:
    """The read models of one database held by a private mongomock client."""

    def __init__(self, database: str = "tasktrail") -> None:
        self._client: mongomock.MongoClient[Document] = mongomock.MongoClient()
        self._database = self._client[database]
        self._collections: dict[str, MemoryCollection] = {}

    def collection(self, name: str) -> MemoryCollection:
        """Kept per name: mongomock builds a new collection object on every lookup,
        which was 6% of an analytics rebuild. A rename replaces the names' stores."""
        found = self._collections.get(name)
        if found is None:
            found = self._collections[name] = MemoryCollection(self._database[name])
        return found

    async def collection_names(self) -> list[str]:
        return self._database.list_collection_names()

    async def rename(self, source: str, target: str) -> None:
        self._database[source].rename(target, dropTarget=True)
        self._collections.pop(source, None)
        self._collections.pop(target, None)

    async def drop(self, name: str) -> None:
        self._database.drop_collection(name)

    async def ping(self) -> None:
        """Always answers: the store is this process."""

    async def close(self) -> None:
        """Frees the documents, which nothing else can reach."""
        self._client.drop_database(self._database.name)
        self._collections.clear()

"""The read store on MongoDB through PyMongo's async API.

The helpers above the classes hold what both adapters share: ``read_side.memory`` drives
mongomock, which raises PyMongo's errors and takes PyMongo's arguments, through them too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Self

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError
from pymongo.results import UpdateResult as DriverUpdateResult

from read_side.store import (
    Collection,
    Document,
    DuplicateKey,
    Filter,
    SortSpec,
    StoreUnavailable,
    UpdateResult,
)

_DUPLICATE_KEY_CODE = 11000


@contextmanager
def translated_errors() -> Iterator[None]:
    """Raises the port's errors instead of the driver's, so no caller imports PyMongo.

    ConnectionFailure covers ServerSelectionTimeoutError, NetworkTimeout and AutoReconnect.
    """
    try:
        yield
    except DuplicateKeyError as error:
        raise DuplicateKey(str(error)) from error
    except ConnectionFailure as error:
        raise StoreUnavailable(str(error)) from error


def find_options(
    *,
    sort: SortSpec = (),
    skip: int = 0,
    limit: int = 0,
    projection: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``find`` keywords both drivers read alike: PyMongo refuses an empty sort, and
    mongomock silently ignores a projection that is a Mapping but not a dict."""
    return {
        "sort": list(sort) or None,
        "skip": skip,
        "limit": limit,
        "projection": None if projection is None else dict(projection),
    }


def update_result(result: DriverUpdateResult) -> UpdateResult:
    return UpdateResult(result.matched_count, result.modified_count, result.upserted_id is not None)


async def require_taken_ids(collection: Collection, refused: Sequence[Document]) -> None:
    """Raises DuplicateKey unless each refused document's ``_id`` is stored.

    Inserts skip a taken ``_id`` but must not hide a clash on another unique index, and
    mongomock's errors do not name the index, so both adapters look instead of parsing.
    """
    ids = [document["_id"] for document in refused]
    stored = await collection.find({"_id": {"$in": ids}}, projection={"_id": 1})
    stored_ids = [document["_id"] for document in stored]
    if any(id_ not in stored_ids for id_ in ids):
        raise DuplicateKey(
            f"a unique index other than _id refused an insert into {collection.name}"
        )


async def count_inserted(collection: Collection, error: BulkWriteError) -> int:
    """What an unordered insert_many stored, once its refusals are known to be taken ids."""
    refused = error.details["writeErrors"]
    if any(item["code"] != _DUPLICATE_KEY_CODE for item in refused):
        raise error
    await require_taken_ids(collection, [item["op"] for item in refused])
    return int(error.details["nInserted"])


class MongoCollection:
    def __init__(self, raw: AsyncCollection[Document]) -> None:
        self._raw = raw

    @property
    def name(self) -> str:
        return self._raw.name

    async def find_one(
        self, filter: Filter, projection: Mapping[str, Any] | None = None
    ) -> Document | None:
        with translated_errors():
            return await self._raw.find_one(filter, **find_options(projection=projection))

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
        with translated_errors():
            return await self._raw.find(filter, **options).to_list()

    async def count(self, filter: Filter) -> int:
        with translated_errors():
            return await self._raw.count_documents(filter)

    async def insert_one(self, document: Document) -> bool:
        try:
            with translated_errors():
                await self._raw.insert_one(document)
        except DuplicateKey:
            await require_taken_ids(self, [document])
            return False
        return True

    async def insert_many(self, documents: Sequence[Document]) -> int:
        if not documents:
            return 0
        with translated_errors():
            try:
                result = await self._raw.insert_many(documents, ordered=False)
            except BulkWriteError as error:
                return await count_inserted(self, error)
        return len(result.inserted_ids)

    async def update_one(
        self, filter: Filter, update: Mapping[str, Any], *, upsert: bool = False
    ) -> UpdateResult:
        with translated_errors():
            return update_result(await self._raw.update_one(filter, update, upsert=upsert))

    async def delete_one(self, filter: Filter) -> int:
        with translated_errors():
            return (await self._raw.delete_one(filter)).deleted_count

    async def delete_many(self, filter: Filter) -> int:
        with translated_errors():
            return (await self._raw.delete_many(filter)).deleted_count

    async def aggregate(self, pipeline: Sequence[Mapping[str, Any]]) -> list[Document]:
        with translated_errors():
            return await (await self._raw.aggregate(pipeline)).to_list()

    async def create_index(self, keys: SortSpec, *, unique: bool = False) -> None:
        with translated_errors():
            await self._raw.create_index(list(keys), unique=unique)


class MongoReadStore:
    """The read models of one MongoDB database."""

    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._client = client
        self._database = client[database]

    @classmethod
    def connect(
        cls, url: str, database: str, *, timeout_ms: int = 2000, socket_timeout_ms: int = 30_000
    ) -> Self:
        """Fails fast (``timeout_ms``) when MongoDB cannot be reached; a long write on a
        live connection (a rebuild's batch) may take up to ``socket_timeout_ms``."""
        client: AsyncMongoClient[Document] = AsyncMongoClient(
            url,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            socketTimeoutMS=socket_timeout_ms,
            uuidRepresentation="standard",
        )
        return cls(client, database)

    def collection(self, name: str) -> MongoCollection:
        return MongoCollection(self._database[name])

    async def collection_names(self) -> list[str]:
        with translated_errors():
            return await self._database.list_collection_names()

    async def rename(self, source: str, target: str) -> None:
        with translated_errors():
            await self._database[source].rename(target, dropTarget=True)

    async def drop(self, name: str) -> None:
        with translated_errors():
            await self._database.drop_collection(name)

    async def ping(self) -> None:
        with translated_errors():
            await self._database.command("ping")

    async def close(self) -> None:
        await self._client.close()

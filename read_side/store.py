"""The read-model store port: the document operations projectors and queries need.

Two adapters implement it, chosen by configuration in the composition root:
``read_side.mongo`` (MongoDB through PyMongo's async API) and
``read_side.memory`` (mongomock, in process). Filters, updates and pipelines
are MongoDB's query language, the subset both adapters honour; the contract
tests in tests/read_side run the same cases against both. No operation needs a
transaction: writers make every change idempotent and version-guarded instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Document = dict[str, Any]
Filter = Mapping[str, Any]
SortSpec = Sequence[tuple[str, int]]


class DuplicateKey(Exception):
    """A unique index refused the write; for a guarded upsert, the stored version is newer."""


class StoreUnavailable(Exception):
    """The read store cannot be reached now."""


@dataclass(frozen=True, slots=True)
class UpdateResult:
    matched: int
    modified: int
    upserted: bool


class Collection(Protocol):
    @property
    def name(self) -> str: ...

    async def find_one(
        self, filter: Filter, projection: Mapping[str, Any] | None = None
    ) -> Document | None: ...

    async def find(
        self,
        filter: Filter,
        *,
        sort: SortSpec = (),
        skip: int = 0,
        limit: int = 0,
        projection: Mapping[str, Any] | None = None,
    ) -> list[Document]:
        """``limit=0`` means no limit, as in MongoDB."""
        ...

    async def count(self, filter: Filter) -> int: ...

    async def insert_one(self, document: Document) -> bool:
        """False, not an error, when the ``_id`` is taken; DuplicateKey for another unique
        index. Documents must carry their ``_id``."""
        ...

    async def insert_many(self, documents: Sequence[Document]) -> int:
        """Inserts what it can (unordered) and returns how many were new.

        Documents whose ``_id`` is taken are skipped; if another unique index refuses
        one, the rest are stored and then DuplicateKey is raised.
        """
        ...

    async def update_one(
        self, filter: Filter, update: Mapping[str, Any], *, upsert: bool = False
    ) -> UpdateResult:
        """Raises DuplicateKey when an upsert's filter misses an existing ``_id``."""
        ...

    async def delete_one(self, filter: Filter) -> int: ...

    async def delete_many(self, filter: Filter) -> int: ...

    async def aggregate(self, pipeline: Sequence[Mapping[str, Any]]) -> list[Document]: ...

    async def create_index(self, keys: SortSpec, *, unique: bool = False) -> None: ...


class ReadStore(Protocol):
    def collection(self, name: str) -> Collection: ...

    async def collection_names(self) -> list[str]: ...

    async def rename(self, source: str, target: str) -> None:
        """Atomically replaces ``target`` with ``source`` (MongoDB's dropTarget rename)."""
        ...

    async def drop(self, name: str) -> None: ...

    async def ping(self) -> None:
        """Raises StoreUnavailable unless the store answers now."""
        ...

    async def close(self) -> None: ...


def public_view(document: Document) -> Document:
    """The document as clients see it: fields starting with ``_`` are the store's own."""
    return {k: v for k, v in document.items() if not k.startswith("_")}

"""The read-store port: tables of JSON documents, in the read models' own terms.

A read model is a table of documents, each under a text key. Queries get one document
by key or page through a table with equality filters, an upper bound, a literal
case-insensitive search and a sort, all on fields the table declares (each adapter
indexes exactly those). Projectors write through ``commit``: one batch of whole
documents put or deleted, applied at once, guarded by the revision of the documents
it was computed from (the projector's checkpoint), so that two writers of one table
cannot both win. Two adapters implement it: ``read_side.postgres`` (the default) and
``read_side.mongo``; the contract tests in tests/read_side hold both to the same cases.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

Document = dict[str, Any]
"""JSON types only. Fields starting with ``_`` are the projectors' own, never shown."""
Scalar = str | int | bool | None
REV = "_rev"
"""Counts the writes of a document: what the cache and ``Changes.expect`` compare."""


class StoreUnavailable(Exception):
    """The read store cannot be reached now."""


class Conflict(Exception):
    """A commit's expected revision was not the stored one: another writer was first."""


class Unstorable(ValueError):
    """A document holds what no adapter can store: NUL or a lone surrogate in a string or
    a key."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Literal["text", "integer"] = "text"


@dataclass(frozen=True, slots=True)
class Table:
    """A read model's table: the fields queries may filter or sort on, their indexes
    (each a sequence of field names, the key last implicitly), and the fields a search
    looks in."""

    name: str
    fields: tuple[Field, ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    search: tuple[str, ...] = ()

    def field(self, name: str) -> Field:
        for declared in self.fields:
            if declared.name == name:
                return declared
        raise KeyError(f"{self.name} declares no field {name!r}")

    def renamed(self, name: str) -> Table:
        return replace(self, name=name)


@dataclass(frozen=True, slots=True)
class Criteria:
    """``where``: each field equals its value (None: the field is null or absent);
    ``below``: each field is present and less than its value; ``search``: the text
    occurs, case-insensitively and literally, in one of the table's search fields;
    ``order``: (field, descending) pairs, then the key in the last pair's direction
    (ascending without any), so that one index serves the whole order."""

    where: Mapping[str, Scalar] = field(default_factory=dict)
    below: Mapping[str, Scalar] = field(default_factory=dict)
    search: str | None = None
    order: tuple[tuple[str, bool], ...] = ()
    limit: int | None = None
    offset: int = 0


@dataclass
class Changes:
    """One batch of writes, applied by ``ReadStore.commit`` all together."""

    puts: dict[Table, dict[str, Document]] = field(default_factory=dict)
    deletes: dict[Table, set[str]] = field(default_factory=dict)
    inserts: dict[Table, dict[str, Document]] = field(default_factory=dict)
    """Written only where the key is absent: documents that never change (audit)."""
    expect: dict[tuple[Table, str], int] = field(default_factory=dict)
    """(table, key) -> the revision the stored document must have (0: absent)."""

    def __bool__(self) -> bool:
        return bool(self.puts or self.deletes or self.inserts)


class ReadStore(Protocol):
    async def create(self, tables: Sequence[Table]) -> None:
        """Creates the tables and their indexes; safe to repeat."""
        ...

    async def drop(self, tables: Sequence[Table]) -> None: ...

    async def get(self, table: Table, key: str) -> Document | None: ...

    async def get_many(self, table: Table, keys: Collection[str]) -> dict[str, Document]:
        """The documents of those keys that exist."""
        ...

    async def find(self, table: Table, query: Criteria) -> list[Document]: ...

    async def scan(
        self, table: Table, *, after: str | None = None, limit: int = 1000
    ) -> list[tuple[str, Document]]:
        """(key, document) pairs in key order, from the first key after ``after``."""
        ...

    async def count(self, table: Table, query: Criteria) -> int:
        """How many documents match; the query's order, limit and offset do not count."""
        ...

    async def commit(self, changes: Changes) -> None:
        """Applies every change, or (on PostgreSQL) none; raises Conflict, before
        writing anything, when an expected revision is not the stored one."""
        ...

    async def ping(self) -> None:
        """Raises StoreUnavailable unless the store answers now."""
        ...

    async def close(self) -> None: ...


def public_view(document: Document) -> Document:
    """The document as clients see it: fields starting with ``_`` are the store's own."""
    return {k: v for k, v in document.items() if not k.startswith("_")}


def storable(value: object, where: str = "document") -> None:
    """Raises Unstorable if a string or key in ``value`` holds NUL (PostgreSQL's jsonb and
    MongoDB's field names refuse it) or a lone surrogate (no JSON encoder writes one), so
    that a projector finds out while applying the event, not when committing its batch."""
    if isinstance(value, str):
        if "\x00" in value:
            raise Unstorable(f"{where} holds a NUL character")
        if not value.isascii():
            try:
                value.encode()
            except UnicodeEncodeError as error:
                raise Unstorable(f"{where} holds a lone surrogate") from error
    elif isinstance(value, dict):
        for key, item in value.items():
            storable(key, where)
            storable(item, where)
    elif isinstance(value, list | tuple):
        for item in value:
            storable(item, where)

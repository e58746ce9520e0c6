"""A projector's unit of work: what one batch read and wrote, committed at once.

Documents read once per batch are kept (an identity map), so applying many events of
one stream costs one read; projectors load a batch's documents up front with
``prefetch``. Writes are held until ``commit``, which hands them to the store in one
``Changes`` together with the checkpoint: on PostgreSQL one transaction. Documents
given out must be treated as frozen: a change is a new document ``put`` back, which is
what lets ``undoable`` take back the writes of an event that failed halfway.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Iterator

from read_side.store import REV, Changes, Document, ReadStore, Table, storable


class Session:
    def __init__(self, store: ReadStore) -> None:
        self.store = store
        self.changes = Changes()
        self._known: dict[Table, dict[str, Document | None]] = {}
        self._undo: list[tuple[Table, str, Document | None, str | None]] | None = None

    def _map(self, table: Table) -> dict[str, Document | None]:
        return self._known.setdefault(table, {})

    async def get(self, table: Table, key: str) -> Document | None:
        known = self._map(table)
        if key not in known:
            known[key] = await self.store.get(table, key)
        return known[key]

    async def prefetch(self, table: Table, keys: Iterable[str]) -> None:
        known = self._map(table)
        wanted = {key for key in keys if key not in known}
        if wanted:
            found = await self.store.get_many(table, wanted)
            for key in wanted:
                known[key] = found.get(key)

    def put(self, table: Table, key: str, document: Document) -> Document:
        """Stores ``document`` in place of the key's, one revision on; returns it as stored."""
        storable(document, f"{table.name}/{key}")
        previous = self._map(table).get(key)
        stored = {**document, REV: (previous or {}).get(REV, 0) + 1}
        self._record(table, key, "put")
        self._map(table)[key] = stored
        self.changes.puts.setdefault(table, {})[key] = stored
        self.changes.deletes.get(table, set()).discard(key)
        return stored

    def insert(self, table: Table, key: str, document: Document) -> None:
        """Writes a document that never changes, unless one is stored under its key: for
        tables the batch does not read back."""
        storable(document, f"{table.name}/{key}")
        self._record(table, key, "insert")
        self.changes.inserts.setdefault(table, {})[key] = {**document, REV: 1}

    def delete(self, table: Table, key: str) -> None:
        self._record(table, key, "delete")
        self._map(table)[key] = None
        self.changes.puts.get(table, {}).pop(key, None)
        self.changes.deletes.setdefault(table, set()).add(key)

    def expect(self, table: Table, key: str, revision: int) -> None:
        """The commit fails with Conflict unless the stored document is at ``revision``."""
        self.changes.expect[(table, key)] = revision

    def loaded(self, table: Table, key: str) -> bool:
        return key in self._map(table)

    def seed(self, table: Table, key: str, revision: int) -> None:
        """Says, without reading it, that the stored document is at ``revision``: what a
        ``put`` then counts on from. For a document only this writer changes."""
        self._map(table)[key] = {REV: revision} if revision else None

    def written(self, table: Table) -> Collection[str]:
        return self.changes.puts.get(table, {}).keys()

    @contextlib.contextmanager
    def undoable(self) -> Iterator[None]:
        """Takes back every write made inside the block if it raises."""
        assert self._undo is None, "undoable blocks do not nest"
        self._undo = []
        try:
            yield
        except BaseException:
            for table, key, before, kind in reversed(self._undo):
                self._restore(table, key, before, kind)
            raise
        finally:
            self._undo = None

    def _record(self, table: Table, key: str, kind: str) -> None:
        if self._undo is None:
            return
        if kind == "insert":
            self._undo.append((table, key, self.changes.inserts.get(table, {}).get(key), kind))
            return
        known = self._map(table)
        before = known.get(key)
        state = (
            "put"
            if key in self.changes.puts.get(table, {})
            else "delete"
            if key in self.changes.deletes.get(table, set())
            else ("loaded" if key in known else None)
        )
        self._undo.append((table, key, before, state))

    def _restore(self, table: Table, key: str, before: Document | None, kind: str | None) -> None:
        if kind == "insert":
            inserts = self.changes.inserts.setdefault(table, {})
            if before is None:
                inserts.pop(key, None)
            else:
                inserts[key] = before
            return
        known, puts = self._map(table), self.changes.puts.setdefault(table, {})
        deletes = self.changes.deletes.setdefault(table, set())
        puts.pop(key, None)
        deletes.discard(key)
        if kind is None:
            known.pop(key, None)
            return
        known[key] = before
        if kind == "put":
            assert before is not None
            puts[key] = before
        elif kind == "delete":
            deletes.add(key)

    async def commit(self) -> Changes:
        """Writes everything and starts afresh; returns what was written."""
        changes, self.changes = self.changes, Changes()
        await self.store.commit(changes)
        return changes

"""Group commit: concurrent commands share one table lock and one commit.

The event table's EXCLUSIVE lock makes appends serial, so under load each command
waits for every earlier one's lock, insert and fsync in turn. Here the first
command to arrive while no append is under way leads: it appends everything
queued behind it in one transaction, then hands the lead to the next command
that queued meanwhile. Commands are independent, so if the shared transaction
fails on a conflict (two commands racing for one stream version, or one
Idempotency-Key, or a stream one command read and another wrote), the group falls
back to one transaction per command, and only the command that lost gets its
ConcurrencyConflict. PostgreSQL's own commit_delay does something similar for
fsyncs alone; this also shares the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from events.envelope import Envelope
from write_side.event_store import (
    Append,
    ConcurrencyConflict,
    IdempotencyKeyTaken,
    IdempotencyRecord,
)


class BatchingStore(Protocol):
    def append_many(self, commands: Sequence[Append]) -> list[list[int]]: ...

    def append(
        self,
        envelopes: Sequence[Envelope[Any]],
        *,
        idempotency: IdempotencyRecord | None = None,
        reads: Mapping[UUID, int] | None = None,
    ) -> list[int]: ...

    def load(self, stream_id: UUID, *, up_to_version: int | None = None) -> list[Envelope[Any]]: ...

    def find_idempotency(self, key: str) -> IdempotencyRecord | None: ...

    def head(self) -> int: ...

    def ping(self) -> None: ...


@dataclass(eq=False, slots=True)
class _Queued:
    command: Append
    woken: threading.Event = field(default_factory=threading.Event)
    done: bool = False
    positions: list[int] = field(default_factory=list)
    error: BaseException | None = None

    def finish(
        self, positions: list[int] | None = None, error: BaseException | None = None
    ) -> None:
        self.positions, self.error, self.done = positions or [], error, True
        self.woken.set()


class GroupCommit:
    """The event store port, with appends of concurrent threads grouped."""

    def __init__(self, store: BatchingStore, *, max_group: int = 64) -> None:
        self.store = store
        self.max_group = max_group
        self._mutex = threading.Lock()
        self._queued: list[_Queued] = []
        self._leading = False

    def load(self, stream_id: UUID, *, up_to_version: int | None = None) -> list[Envelope[Any]]:
        return self.store.load(stream_id, up_to_version=up_to_version)

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        return self.store.find_idempotency(key)

    def head(self) -> int:
        return self.store.head()

    def ping(self) -> None:
        self.store.ping()

    def append(
        self,
        envelopes: Sequence[Envelope[Any]],
        *,
        idempotency: IdempotencyRecord | None = None,
        reads: Mapping[UUID, int] | None = None,
    ) -> list[int]:
        mine = _Queued(Append(envelopes, idempotency, reads or {}))
        with self._mutex:
            self._queued.append(mine)
            lead = not self._leading
            self._leading = True
        if not lead:
            mine.woken.wait()  # finished by a leader, or handed the lead
        if not mine.done:
            self._lead()
        if mine.error is not None:
            raise mine.error
        return mine.positions

    def _lead(self) -> None:
        with self._mutex:
            group = self._queued[: self.max_group]
            del self._queued[: self.max_group]
        try:
            self._commit(group)
        finally:
            with self._mutex:
                if self._queued:
                    self._queued[0].woken.set()  # it leads the next group
                else:
                    self._leading = False

    def _commit(self, group: list[_Queued]) -> None:
        if len(group) > 1:
            try:
                results = self.store.append_many([each.command for each in group])
            except (ConcurrencyConflict, IdempotencyKeyTaken):
                pass  # someone in the group lost a race: find out who, one by one
            except BaseException as error:
                for each in group:
                    each.finish(error=error)
                return
            else:
                for each, positions in zip(group, results, strict=True):
                    each.finish(positions)
                return
        for each in group:
            try:
                c = each.command
                each.finish(
                    self.store.append(c.envelopes, idempotency=c.idempotency, reads=c.reads)
                )
            except BaseException as error:
                each.finish(error=error)

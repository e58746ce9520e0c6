"""Runs a command: load streams, decide, append atomically; retry on conflicts.

A handler gets a Transaction, loads the streams it needs, records the events it
decides and returns the resulting state. The executor appends everything one
transaction recorded in a single atomic write. Without If-Match a conflicting
concurrent write is retried from a fresh load a bounded number of times, so no
update is lost; with If-Match a conflict is the caller's stale version (412).
Streams a command only reads may come from a cache (write_side.stream_cache);
the append checks they have not moved on, and a command refused on cached
streams is decided again on fresh ones.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from events.base import DomainEvent
from events.envelope import Envelope
from write_side.domain.access import Principal
from write_side.domain.errors import DomainError, VersionMismatch
from write_side.event_store import (
    ConcurrencyConflict,
    EventStore,
    IdempotencyKeyTaken,
    IdempotencyRecord,
    ReadStreamMoved,
)
from write_side.stream_cache import StreamCache


class Versioned(Protocol):
    @property
    def id(self) -> UUID: ...

    @property
    def version(self) -> int: ...


R = TypeVar("R", bound=Versioned)


class TooMuchContention(DomainError):
    """Every attempt lost a race with another writer of the same stream."""

    def __init__(self, attempts: int) -> None:
        super().__init__(f"the resource changed concurrently {attempts} times; retry the request")


class IdempotencyKeyReused(DomainError):
    """The Idempotency-Key was first used for a different request."""

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was already used with a different request")


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who asked, why, and on what terms; it becomes each event's metadata."""

    correlation_id: str | None = None
    causation_id: str | None = None
    actor: str | None = None
    principal: Principal | None = None
    """Whom the handlers authorize; ``actor`` is what the events record."""
    expected_version: int | None = None
    idempotency_key: str | None = None
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class Executed(Generic[R]):
    result: R
    position: int
    """Global position of the last event appended (or of the head, when none was)."""
    replayed: bool = False
    """True when this answers a retried Idempotency-Key from the first execution."""
    changed: bool = True


@dataclass(slots=True)
class Transaction:
    store: EventStore
    context: CommandContext
    now: datetime
    new_id: Callable[[], UUID]
    cache: StreamCache | None = None
    fresh: bool = False
    """Read every stream from the store (refreshing the cache), none from the cache."""
    versions: dict[UUID, int] = field(default_factory=dict)
    """Streams this command writes: the version each was loaded at."""
    envelopes: list[Envelope[Any]] = field(default_factory=list)
    reads: dict[UUID, int] = field(default_factory=dict)
    """Streams this command only reads: the version each was read at."""
    cached: set[UUID] = field(default_factory=set)
    """Read streams that came from the cache, and so may be stale."""

    def read(self, stream_id: UUID) -> list[Envelope[Any]]:
        """Loads a stream the command decides on but does not write, from the cache if
        it is there. The append is refused if the stream moved on meanwhile."""
        assert stream_id not in self.versions, "a stream the command writes is loaded, not read"
        stream = None if self.cache is None or self.fresh else self.cache.get(stream_id)
        if stream is not None:
            self.cached.add(stream_id)
        else:
            stream = tuple(self.store.load(stream_id))
            if self.cache is not None:
                self.cache.put(stream_id, stream)
        self.reads[stream_id] = stream[-1].stream_version if stream else 0
        return list(stream)

    def load(self, stream_id: UUID) -> list[Envelope[Any]]:
        stream = self.store.load(stream_id)
        self.versions[stream_id] = stream[-1].stream_version if stream else 0
        return stream

    def load_subject(self, stream_id: UUID) -> list[Envelope[Any]]:
        """Loads the stream the command is about and checks the caller's If-Match."""
        stream = self.load(stream_id)
        expected = self.context.expected_version
        if stream and expected is not None and expected != self.versions[stream_id]:
            raise VersionMismatch(expected, self.versions[stream_id])
        return stream

    def start(self, stream_id: UUID) -> None:
        """Declares a new stream: its first event gets version 1."""
        self.versions[stream_id] = 0

    def record(self, stream_id: UUID, events: Sequence[DomainEvent]) -> list[Envelope[Any]]:
        assert stream_id not in self.reads, "a stream the command only read cannot be written"
        recorded = []
        for event in events:
            self.versions[stream_id] += 1
            recorded.append(
                Envelope(
                    event=event,
                    event_id=self.new_id(),
                    stream_id=stream_id,
                    stream_version=self.versions[stream_id],
                    occurred_at=self.now,
                    correlation_id=self.context.correlation_id,
                    causation_id=self.context.causation_id,
                    actor=self.context.actor,
                )
            )
        self.envelopes.extend(recorded)
        return recorded


@dataclass(frozen=True, slots=True)
class CommandExecutor:
    store: EventStore
    clock: Callable[[], datetime]
    new_id: Callable[[], UUID]
    max_attempts: int = 8
    backoff: float = 0.005
    """Seconds; doubled per attempt, with full jitter, capped at 0.2 s."""
    cache: StreamCache | None = None
    """Keeps the streams commands read (Transaction.read); None loads each every time."""

    def run(
        self,
        decide: Callable[[Transaction], R],
        context: CommandContext,
        rebuild: Callable[[list[Envelope[Any]]], R | None],
    ) -> Executed[R]:
        """``rebuild`` turns a stream back into the result, to answer a retried key.

        A decision on kept streams that fails (refused, or its read stream had moved
        on) is made again on fresh ones, and that retry is not an attempt: only a
        race lost on fresh reads counts towards ``max_attempts``.
        """
        attempt, fresh = 0, False
        while attempt < self.max_attempts:
            if context.idempotency_key is not None:
                replayed = self._replay(context, rebuild)
                if replayed is not None:
                    return replayed
            tx = Transaction(self.store, context, self.clock(), self.new_id, self.cache, fresh)
            fresh = False
            try:
                result = decide(tx)
            except DomainError:
                if tx.cached:  # refused on streams that may be stale
                    self._forget(tx.cached)
                    fresh = True
                    continue
                # A sibling request with the same key may have committed since the
                # check above, and be the very reason this one was refused.
                if context.idempotency_key is not None:
                    replayed = self._replay(context, rebuild)
                    if replayed is not None:
                        return replayed
                raise
            if not tx.envelopes:
                return Executed(result, self.store.head(), changed=False)
            record = None
            if context.idempotency_key is not None:
                record = IdempotencyRecord(
                    context.idempotency_key, context.fingerprint, result.id, result.version
                )
            try:
                positions = self.store.append(tx.envelopes, idempotency=record, reads=tx.reads)
            except ReadStreamMoved:
                self._forget(tx.reads)
                fresh = True
                if not tx.cached:  # moved on since a fresh read: a race lost
                    self._pause(attempt)
                    attempt += 1
                continue  # nothing the caller saw is stale, whatever If-Match said
            except ConcurrencyConflict:
                if context.expected_version is not None:
                    raise VersionMismatch(context.expected_version, None) from None
                self._pause(attempt)
                attempt += 1
                continue
            except IdempotencyKeyTaken:
                attempt += 1
                continue  # the next attempt replays what the winner stored
            self._forget({envelope.stream_id for envelope in tx.envelopes})
            return Executed(result, positions[-1])
        raise TooMuchContention(self.max_attempts)

    def _pause(self, attempt: int) -> None:
        time.sleep(random.uniform(0, min(0.2, self.backoff * 2**attempt)))  # noqa: S311

    def _forget(self, stream_ids: Iterable[UUID]) -> None:
        if self.cache is not None:
            self.cache.forget(stream_ids)

    def _replay(
        self, context: CommandContext, rebuild: Callable[[list[Envelope[Any]]], R | None]
    ) -> Executed[R] | None:
        assert context.idempotency_key is not None
        record = self.store.find_idempotency(context.idempotency_key)
        if record is None:
            return None
        if record.fingerprint != context.fingerprint:
            raise IdempotencyKeyReused()
        stream = self.store.load(record.stream_id, up_to_version=record.stream_version)
        result = rebuild(stream)
        assert result is not None, "an idempotency record points at a stored result"
        return Executed(result, record.position or 0, replayed=True)

"""The event store port, as the write side needs it, and the errors it raises."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from events.envelope import Envelope


class ConcurrencyConflict(Exception):
    """Another command appended to one of the streams first; nothing was appended."""


class ReadStreamMoved(ConcurrencyConflict):
    """A stream the command read, but did not write, has moved on since it was read."""


class IdempotencyKeyTaken(Exception):
    """A concurrent command with the same Idempotency-Key committed first."""


class StoreUnavailable(Exception):
    """The event store cannot be reached now, and nothing was appended; the command may
    be retried later."""


class CommitOutcomeUnknown(StoreUnavailable):
    """The connection broke after the commit was sent, and the store stayed unreachable
    too long to tell whether it committed. A retry with the same Idempotency-Key is
    safe either way."""


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """What a command with an Idempotency-Key produced: enough to answer a retry.

    It points at the resulting stream version instead of storing a response,
    because replaying that stream up to that version rebuilds the same result.
    """

    key: str
    fingerprint: str
    stream_id: UUID
    stream_version: int
    position: int | None = None


@dataclass(frozen=True, slots=True)
class Append:
    """What one command writes, and what it read to decide it."""

    envelopes: Sequence[Envelope[Any]]
    idempotency: IdempotencyRecord | None = None
    reads: Mapping[UUID, int] = field(default_factory=dict)
    """Streams the command read but does not write, at the versions it read: the
    append is refused (ConcurrencyConflict) if any has moved on since."""


class EventStore(Protocol):
    def load(self, stream_id: UUID, *, up_to_version: int | None = None) -> list[Envelope[Any]]:
        """The stream's events in version order; empty if there is no such stream."""
        ...

    def append(
        self,
        envelopes: Sequence[Envelope[Any]],
        *,
        idempotency: IdempotencyRecord | None = None,
        reads: Mapping[UUID, int] | None = None,
    ) -> list[int]:
        """Stores all envelopes atomically and returns their global positions.

        Raises ConcurrencyConflict if any (stream, version) is taken or a stream in
        ``reads`` has moved on, and IdempotencyKeyTaken if the idempotency record's
        key is taken.
        """
        ...

    def find_idempotency(self, key: str) -> IdempotencyRecord | None: ...

    def head(self) -> int:
        """The highest global position stored, 0 when empty."""
        ...

    def ping(self) -> None:
        """Raises StoreUnavailable unless the store answers now."""
        ...

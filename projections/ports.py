"""What projections need from the rest of the system, as ports wired by the composition root."""

from __future__ import annotations

from typing import Protocol

from events.published import PublishedEvent


class SourceUnavailable(Exception):
    """The event store cannot be read now: not the event's fault, so retried."""


class EventSource(Protocol):
    """Reads the event store (through its published form) to repair gaps and to replay;
    raises SourceUnavailable while it cannot."""

    async def stream(
        self, stream_id: str, *, after_version: int, up_to_version: int | None = None
    ) -> list[PublishedEvent]: ...

    async def read_all(self, after_position: int, limit: int) -> tuple[list[PublishedEvent], int]:
        """Published events after a position, and the position to read on from.

        The position can move past events that are never published.
        """
        ...

    async def head(self) -> int: ...


class DocumentCache(Protocol):
    """The projector writes each document it changes here, after the read store."""

    @property
    def enabled(self) -> bool:
        """False when nothing is kept: the projector need not read back what it wrote."""
        ...

    async def put(self, kind: str, id: str, version: int, body: bytes) -> bool: ...

    async def put_tombstone(self, kind: str, id: str, version: int) -> bool: ...


class NoCache:
    """For replays into a fresh generation, which no query reads yet."""

    enabled = False

    async def put(self, kind: str, id: str, version: int, body: bytes) -> bool:
        return False

    async def put_tombstone(self, kind: str, id: str, version: int) -> bool:
        return False

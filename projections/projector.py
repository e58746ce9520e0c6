"""What a projector is: a named, idempotent function from published events to documents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from events.published import PublishedEvent
from read_side.store import ReadStore


class Projector(Protocol):
    """One read model. ``apply`` must be idempotent: applying an event twice equals once.

    ``handles`` says which events it uses at all; ``tracks`` which of those must
    be applied in stream-version order (the runtime then skips duplicates,
    repairs gaps, and holds a stream back behind a dead-lettered event).
    ``flush`` runs after each batch, before it is acknowledged.
    """

    @property
    def name(self) -> str: ...

    @property
    def collections(self) -> tuple[str, ...]:
        """The collections it owns: what a rebuild replaces."""
        ...

    def handles(self, event: PublishedEvent) -> bool: ...

    def tracks(self, event: PublishedEvent) -> bool: ...

    async def setup(self, store: ReadStore) -> None:
        """Creates indexes; safe to run on every start."""
        ...

    async def apply(self, event: PublishedEvent, store: ReadStore) -> None: ...

    async def flush(self, store: ReadStore) -> None: ...


def utc_text(moment: datetime) -> str:
    """A fixed-width UTC timestamp, so that string order is time order in any store."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

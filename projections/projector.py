"""What a projector is: a named, idempotent function from published events to documents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

from events.published import PublishedEvent
from projections.session import Session
from read_side.store import Table


class Projector(Protocol):
    """One read model, as one generation of its tables holds it.

    ``handles`` says which events it uses at all; ``tracks`` which of those must be
    applied in stream-version order (the applier then skips duplicates, repairs gaps,
    and holds a stream back behind a dead-lettered event). ``apply`` reads and writes
    through the batch's session only, so that it is undone whole if it raises; applying
    an untracked event twice must equal applying it once. ``prefetch`` loads, in a few
    reads, what a batch's events will need.
    """

    @property
    def name(self) -> str: ...

    @property
    def generation(self) -> int: ...

    @property
    def tables(self) -> tuple[Table, ...]:
        """The tables of this generation it owns: what a rebuild replaces."""
        ...

    @property
    def cached(self) -> Mapping[Table, str]:
        """Tables whose documents go to the cache once committed, and their cache kind."""
        ...

    def handles(self, event: PublishedEvent) -> bool: ...

    def tracks(self, event: PublishedEvent) -> bool: ...

    async def prefetch(self, events: Sequence[PublishedEvent], session: Session) -> None: ...

    async def apply(self, event: PublishedEvent, session: Session) -> None: ...


def utc_text(moment: datetime) -> str:
    """A fixed-width UTC timestamp, so that string order is time order in any store."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

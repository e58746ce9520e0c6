"""A test double of a projector: the real tasks projector, with one event it cannot apply."""

from __future__ import annotations

import uuid

from events.published import PublishedEvent
from projections.session import Session
from projections.tasks import TasksProjector


class FailingTasks(TasksProjector):
    """The real tasks projector, except that it cannot apply one chosen event; it
    records the order in which it applied every event."""

    poison: tuple[str, int] | None = None

    def __init__(self, generation: int = 0) -> None:
        super().__init__(generation)
        self.applied: list[tuple[str, int]] = []

    async def apply(self, event: PublishedEvent, session: Session) -> None:
        await super().apply(event, session)  # written, then taken back: undone whole
        if (event.stream_id, event.stream_version) == self.poison:
            raise RuntimeError("cannot apply this one")
        self.applied.append((event.stream_id, event.stream_version))

    def versions(self, stream_id: uuid.UUID) -> list[int]:
        return [version for stream, version in self.applied if stream == str(stream_id)]

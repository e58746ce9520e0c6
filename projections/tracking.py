"""Per-stream progress and the checkpoint of one projector's generation, in its session.

The checkpoint document is written with every batch and guarded by its revision: a
batch computed from a checkpoint another writer has moved since (a second projector
process, a rebuild finishing a switch, a dead-letter retry from the CLI) is refused
with Conflict and computed again, so two writers of one generation never both win.
"""

from __future__ import annotations

from dataclasses import dataclass

from projections.session import Session
from read_side.generations import at, checkpoint_table, streams_table
from read_side.store import REV, Criteria, ReadStore, Table


@dataclass(frozen=True, slots=True)
class StreamState:
    version: int = 0
    blocked_at: int | None = None
    """The version of a dead-lettered event that holds the stream back, if any."""


class Tracking:
    def __init__(self, projector: str, generation: int) -> None:
        self.projector = projector
        self.streams: Table = at(streams_table(projector), generation)
        self.checkpoints: Table = at(checkpoint_table(projector), generation)

    @property
    def tables(self) -> tuple[Table, Table]:
        return self.streams, self.checkpoints

    async def prefetch(self, session: Session, stream_ids: set[str]) -> None:
        await session.prefetch(self.streams, stream_ids)

    async def state(self, session: Session, stream_id: str) -> StreamState:
        doc = await session.get(self.streams, stream_id)
        if doc is None:
            return StreamState()
        return StreamState(doc.get("version", 0), doc.get("blocked_at"))

    async def advance(self, session: Session, stream_id: str, version: int) -> None:
        state = await self.state(session, stream_id)
        if version > state.version:
            self._put(session, stream_id, version, state.blocked_at)

    async def block(self, session: Session, stream_id: str, version: int) -> None:
        state = await self.state(session, stream_id)
        self._put(session, stream_id, state.version, version)

    async def unblock(self, session: Session, stream_id: str) -> None:
        state = await self.state(session, stream_id)
        if state.blocked_at is not None:
            self._put(session, stream_id, state.version, None)

    def _put(self, session: Session, stream_id: str, version: int, blocked: int | None) -> None:
        document = {"id": stream_id, "version": version, "blocked_at": blocked}
        session.put(self.streams, stream_id, document | {"blocked": blocked is not None})

    async def blocked_count(self, store: ReadStore) -> int:
        return await store.count(self.streams, Criteria(where={"blocked": True}))

    async def checkpoint(self, store: ReadStore) -> tuple[int, int]:
        """The position this generation has applied, and the revision it is at."""
        doc = await store.get(self.checkpoints, self.projector)
        return (0, 0) if doc is None else (int(doc["position"]), int(doc[REV]))

    async def save_checkpoint(self, session: Session, position: int, revision: int) -> None:
        """Part of the batch; ``revision`` is what ``checkpoint`` gave when it began."""
        session.expect(self.checkpoints, self.projector, revision)
        if not session.loaded(self.checkpoints, self.projector):
            session.seed(self.checkpoints, self.projector, revision)
        document = {"position": position}
        session.put(self.checkpoints, self.projector, document)

"""Per-stream progress and the checkpoint of one projector, kept in the read store."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from read_side.store import Collection, ReadStore


def tracking_collections(projector: str) -> tuple[str, str]:
    """Per-stream progress and the checkpoint: part of the projector's generation."""
    return f"{projector}__streams", f"{projector}__checkpoint"


@dataclass(frozen=True, slots=True)
class StreamState:
    version: int = 0
    blocked_at: int | None = None
    """The version of a dead-lettered event that holds the stream back, if any."""


class Tracking:
    def __init__(self, store: ReadStore, projector: str) -> None:
        self.projector = projector
        streams, checkpoint = tracking_collections(projector)
        self.streams: Collection = store.collection(streams)
        self.checkpoints: Collection = store.collection(checkpoint)
        self._held: dict[str, StreamState] | None = None
        self._advanced: set[str] = set()

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Holds per-stream progress in memory while a batch is applied and writes each
        stream's once, when the batch ends without error.

        A batch applies several events of most streams it touches (a replay, hundreds):
        one write per event was 27% of a rebuild's time under py-spy. Written before
        the checkpoint and the acknowledgement, as before. After an error nothing held
        is written: the batch is delivered again and its events applied again, which
        projectors absorb as they absorb any redelivery.
        """
        assert self._held is None, "batches do not nest: the inner one would drop the outer's"
        self._held, self._advanced = {}, set()
        try:
            yield
            for stream_id in sorted(self._advanced):
                await self.streams.update_one(
                    {"_id": stream_id},
                    {"$max": {"version": self._held[stream_id].version}},
                    upsert=True,
                )
        finally:
            self._held, self._advanced = None, set()

    async def state(self, stream_id: str) -> StreamState:
        if self._held is not None and stream_id in self._held:
            return self._held[stream_id]
        doc = await self.streams.find_one({"_id": stream_id})
        state = (
            StreamState()
            if doc is None
            else StreamState(doc.get("version", 0), doc.get("blocked_at"))
        )
        if self._held is not None:
            self._held[stream_id] = state
        return state

    async def advance(self, stream_id: str, version: int) -> None:
        if self._held is None:
            await self.streams.update_one(
                {"_id": stream_id}, {"$max": {"version": version}}, upsert=True
            )
            return
        state = await self.state(stream_id)
        self._held[stream_id] = replace(state, version=max(state.version, version))
        self._advanced.add(stream_id)

    async def block(self, stream_id: str, version: int) -> None:
        await self.streams.update_one(
            {"_id": stream_id}, {"$set": {"blocked_at": version}}, upsert=True
        )
        if self._held is not None and stream_id in self._held:
            self._held[stream_id] = replace(self._held[stream_id], blocked_at=version)

    async def unblock(self, stream_id: str) -> None:
        await self.streams.update_one({"_id": stream_id}, {"$unset": {"blocked_at": ""}})
        if self._held is not None and stream_id in self._held:
            self._held[stream_id] = replace(self._held[stream_id], blocked_at=None)

    async def blocked_count(self) -> int:
        return await self.streams.count({"blocked_at": {"$exists": True}})

    async def checkpoint(self) -> int:
        doc = await self.checkpoints.find_one({"_id": self.projector})
        return int(doc["position"]) if doc else 0

    async def save_checkpoint(self, position: int) -> None:
        await self.checkpoints.update_one(
            {"_id": self.projector}, {"$max": {"position": position}}, upsert=True
        )

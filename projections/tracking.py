"""Per-stream progress and the checkpoint of one projector, kept in the read store."""

from __future__ import annotations

from dataclasses import dataclass

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

    async def state(self, stream_id: str) -> StreamState:
        doc = await self.streams.find_one({"_id": stream_id})
        if doc is None:
            return StreamState()
        return StreamState(doc.get("version", 0), doc.get("blocked_at"))

    async def advance(self, stream_id: str, version: int) -> None:
        await self.streams.update_one(
            {"_id": stream_id}, {"$max": {"version": version}}, upsert=True
        )

    async def block(self, stream_id: str, version: int) -> None:
        await self.streams.update_one(
            {"_id": stream_id}, {"$set": {"blocked_at": version}}, upsert=True
        )

    async def unblock(self, stream_id: str) -> None:
        await self.streams.update_one({"_id": stream_id}, {"$unset": {"blocked_at": ""}})

    async def blocked_count(self) -> int:
        return await self.streams.count({"blocked_at": {"$exists": True}})

    async def checkpoint(self) -> int:
        doc = await self.checkpoints.find_one({"_id": self.projector})
        return int(doc["position"]) if doc else 0

    async def save_checkpoint(self, position: int) -> None:
        await self.checkpoints.update_one(
            {"_id": self.projector}, {"$max": {"position": position}}, upsert=True
        )

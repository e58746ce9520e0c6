"""Read models as plain data, for comparing one way of building them with another."""

from __future__ import annotations

from typing import Any

from events.catalog import default_registry
from events.codec import EventCodec
from projections.applier import Applier
from projections.catalog import projector_factory
from projections.ports import NoCache
from projections.replay import replay
from read_side.generations import Generations, GenerationView
from read_side.memory import MemoryReadStore
from read_side.store import ReadStore
from write_side.bootstrap import WriteSide
from write_side.event_log import PublishedLog

Snapshot = dict[str, list[dict[str, Any]]]


async def snapshot(store: ReadStore, projection: str, generation: int | None = None) -> Snapshot:
    """Every document of a projection's generation (default: the current one), without the
    cache revision ``_rev`` (it counts writes) and the checkpoint (it may run ahead)."""
    if generation is None:
        generation = await Generations(store).current(projection)
    view = GenerationView(store, generation)
    projector = projector_factory(projection, NoCache())(generation)
    state = {}
    for name in (*projector.collections, f"{projection}__streams"):
        docs = await view.collection(name).find({}, sort=[("_id", 1)])
        state[name] = [{k: v for k, v in d.items() if k != "_rev"} for d in docs]
    return state


async def fresh(ws: WriteSide, projection: str) -> Snapshot:
    """The projection built from scratch, in order, into a store of its own."""
    store = MemoryReadStore(f"fresh_{projection}")
    source = PublishedLog(ws.store, EventCodec(default_registry()))
    projector = projector_factory(projection, NoCache())(0)
    await replay(Applier(projector, store, source))
    return await snapshot(store, projection, 0)

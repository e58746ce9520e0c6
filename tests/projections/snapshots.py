"""Read models as plain data, for comparing one way of building them with another."""

from __future__ import annotations

from typing import Any

from cli.event_source import PublishedLog
from events.catalog import default_registry
from events.codec import EventCodec
from projections.catalog import applier_factory
from projections.ports import NoCache
from projections.replay import replay
from read_side.generations import Generations
from read_side.store import REV, ReadStore
from tests.support.stores import fresh_store
from write_side.bootstrap import WriteSide

Snapshot = dict[str, list[tuple[str, dict[str, Any]]]]


async def snapshot(
    store: ReadStore, ws: WriteSide, projection: str, generation: int | None = None
) -> Snapshot:
    """Every document of a projection's generation (default: the current one), by table
    and key, without the revision ``_rev`` (it counts writes) and the checkpoint (it may
    run ahead)."""
    if generation is None:
        generation = await Generations(store).current(projection)
    appliers = applier_factory(projection, store, source_of(ws), NoCache())
    applier, named = appliers(generation), appliers(0)
    state: Snapshot = {}
    for table, name in zip(
        (*applier.projector.tables, applier.tracking.streams),
        (*named.projector.tables, named.tracking.streams),
        strict=True,
    ):
        state[name.name] = await everything(store, table)
    return state


async def everything(store: ReadStore, table: Any) -> list[tuple[str, dict[str, Any]]]:
    rows: list[tuple[str, dict[str, Any]]] = []
    while page := await store.scan(table, after=rows[-1][0] if rows else None):
        rows += [(key, {k: v for k, v in doc.items() if k != REV}) for key, doc in page]
    return rows


async def fresh(ws: WriteSide, projection: str) -> Snapshot:
    """The projection built from scratch, in order, into a store of its own."""
    async with fresh_store(ws.settings.postgres_dsn, "fresh") as store:
        applier = applier_factory(projection, store, source_of(ws), NoCache())(0)
        await applier.setup()
        await replay(applier)
        return await snapshot(store, ws, projection, 0)


def source_of(ws: WriteSide) -> PublishedLog:
    return PublishedLog(ws.store, EventCodec(default_registry()))

"""Rebuilds against the live system: writers and readers never notice."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.sql import SQL, Identifier

from cli.event_source import PublishedLog
from common.settings import Settings
from events.catalog import default_registry
from events.codec import EventCodec
from projections.catalog import NAMES, applier_factory
from projections.ports import NoCache
from projections.rebuild import Rebuild, compare
from read_side.generations import Generations, at
from read_side.postgres import PostgresReadStore
from read_side.store import REV, Changes
from read_side.tables import TASKS
from tests.conftest import BASE_DSN, System
from tests.projections.snapshots import fresh, snapshot
from tests.support.stores import fresh_store
from tests.write_side.api.given import new_user_body
from write_side.bootstrap import WriteSide, bootstrap
from write_side.postgres import advisory_lock


def rebuild_of(system: System, ws: WriteSide, name: str, **options: Any) -> Rebuild:
    source = PublishedLog(ws.store, EventCodec(default_registry()))
    return Rebuild(
        name, applier_factory(name, system.store, source, system.cache), system.store, **options
    )


async def caught_up(system: System, ws: WriteSide) -> None:
    head = await asyncio.to_thread(ws.store.head)
    for name in NAMES:
        assert await system.checkpoints.wait(name, head, within=15) >= head


async def test_rebuild_while_writing_and_reading(system: System, write_side: WriteSide) -> None:
    api = system.api
    known: list[tuple[str, str]] = []
    failures: list[tuple[str, int]] = []
    stop, warmed = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        while not stop.is_set():
            created = await api.post("/api/v1/users", json=new_user_body())
            assert created.status_code == 201
            known.append((created.json()["id"], created.headers["x-event-position"]))
            if len(known) >= 5:
                warmed.set()

    async def reader() -> None:
        while not stop.is_set():
            if known:
                uid, position = random.choice(known)
                read = await api.get(f"/api/v1/users/{uid}", headers={"X-Min-Position": position})
                if read.status_code != 200:
                    failures.append((uid, read.status_code))
            await asyncio.sleep(0.001)

    workers = [asyncio.create_task(w()) for w in (writer, reader, reader)]
    await warmed.wait()
    before = await Generations(system.store).current("users")

    batches: list[None] = []
    report = await rebuild_of(
        system, write_side, "users", batch_size=20, grace_seconds=0.2,
        after_batch=lambda: batches.append(None),
    ).run()  # fmt: skip
    writes_during = len(known)
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.gather(*workers)

    assert report.switched_by == "the live projector"
    assert len(batches) >= -(-report.events // 20), "after_batch runs after every batch"
    assert await Generations(system.store).current("users") == before + 1
    assert len(known) > writes_during > 5, "the writer kept writing throughout"
    assert failures == [], "no query failed or missed a user that exists"
    await caught_up(system, write_side)
    assert await snapshot(system.store, write_side, "users") == await fresh(write_side, "users")


async def test_an_interrupted_rebuild_leaves_the_live_generation_untouched(
    system: System, write_side: WriteSide
) -> None:
    generations = Generations(system.store)
    before = await generations.state("tasks")
    progressed = asyncio.Event()
    rebuild = rebuild_of(system, write_side, "tasks", batch_size=5)
    running = asyncio.create_task(rebuild.run(progress=lambda *_: progressed.set()))
    await progressed.wait()
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running

    assert await generations.state("tasks") == before
    listed = await system.api.get("/api/v1/tasks")
    assert listed.status_code == 200

    report = await rebuild_of(system, write_side, "tasks", grace_seconds=0.1).run()
    assert (report.old_generation, report.new_generation) == (before.current, before.current + 1)
    await caught_up(system, write_side)
    assert await snapshot(system.store, write_side, "tasks") == await fresh(write_side, "tasks")


async def test_only_one_rebuild_of_a_projection_runs_at_a_time(
    settings: Settings, write_side: WriteSide
) -> None:
    from cli.rebuild import RebuildRunning, rebuild_all

    lock = f"{settings.namespace}.rebuild.audit"
    with advisory_lock(settings.postgres_dsn, lock) as mine:
        assert mine
        with advisory_lock(settings.postgres_dsn, lock) as theirs:
            assert not theirs
        with pytest.raises(RebuildRunning, match="already running"):
            await rebuild_all(
                settings, write_side, ["audit"], dry_run=True, batch_size=500, console=None
            )
    [report] = await rebuild_all(
        settings, write_side, ["audit"], dry_run=True, batch_size=500, console=None
    )
    assert not report.switched
    assert report.events > 0


async def test_rebuilding_an_empty_store(settings: Settings) -> None:
    name = f"tasktrail_test_empty_{uuid.uuid4().hex[:8]}"
    ws = bootstrap(
        settings.model_copy(update={"postgres_dsn": make_conninfo(BASE_DSN, dbname=name)})
    )
    try:
        async with fresh_store(ws.settings.postgres_dsn, "empty") as store:
            source = PublishedLog(ws.store, EventCodec(default_registry()))
            report = await Rebuild(
                "users", applier_factory("users", store, source, NoCache()), store,
                switch_timeout=0, grace_seconds=0,
            ).run()  # fmt: skip
            state = await Generations(store).state("users")
    finally:
        ws.close()
        with psycopg.connect(BASE_DSN, autocommit=True) as conn:
            conn.execute(SQL("DROP DATABASE {} WITH (FORCE)").format(Identifier(name)))

    assert (report.events, report.switched, report.parity.equal) == (0, True, True)
    assert (state.current, state.next) == (1, None)


async def test_parity_names_a_sampled_document_that_differs_and_ignores_revisions(
    read_store: PostgresReadStore,
) -> None:
    old, new = at(TASKS, 0), at(TASKS, 1)
    await read_store.create([old, new])
    for table, revision in ((old, 1), (new, 7)):
        documents = {f"t{n}": {"title": "x", REV: revision} for n in range(5)}
        await read_store.commit(Changes(puts={table: documents}))

    assert (await compare(read_store, [old], [new], sample=5)).equal, "_rev is not content"

    await read_store.commit(Changes(puts={new: {"t3": {"title": "y", REV: 8}}}))
    parity = await compare(read_store, [old], [new], sample=5)
    assert not parity.equal
    assert parity.differences == ["tasks/t3: title differ"]
    assert parity.counts == {"tasks": (5, 5)}

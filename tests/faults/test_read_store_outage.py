"""The read store raises for a while, under the same mixed load as the rest of the matrix.

The store is the in-process one, so the fault is injected in this process: both
APIs, the relay and every projector run here (as in ``tasktrail serve``), with the
store behind tests/support/outages.py, which the projectors and the queries share.
Queries answer 503 + Retry-After during the outage (no 500s); the projectors put
their batches back and retry; afterwards every document equals a fresh rebuild,
compared through the query API and document by document in the store itself.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
from psycopg.conninfo import make_conninfo

from cli.processes import background, open_read_side
from common.settings import Settings
from common.tokens import TokenCodec
from projections.catalog import NAMES
from read_side.api.app import create_query_app
from read_side.positions import LocalCheckpoints
from read_side.postgres import PostgresReadStore
from tests.faults.harness import ROWS, Row, Servers, admin, jwt_secret, passed, scale, verify
from tests.projections.snapshots import fresh, snapshot
from tests.support.faults import FaultyStore
from tests.support.load import MixedLoad, Result
from write_side.api.app import create_command_app
from write_side.bootstrap import bootstrap

OUTAGE_SECONDS = 5.0


async def test_read_store_raises_for_five_seconds(servers: Servers) -> None:
    size = scale()
    row = Row("read store raises 5 s")
    ROWS.append(row)
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        env="test",
        postgres_dsn=make_conninfo(servers.postgres.dsn, dbname=f"faults_{suffix}"),
        rabbitmq_url=servers.rabbitmq.url,
        redis_url=servers.redis.url,
        namespace=f"faults_{suffix}",
        jwt_secret=jwt_secret(),
        breaker_open_seconds=1.0,
    )
    tokens = TokenCodec.from_settings(settings)
    write_side = await asyncio.to_thread(bootstrap, settings)
    inner = await PostgresReadStore.connect(settings.postgres_dsn)
    store = FaultyStore(inner, delay=0.05)
    checkpoints = LocalCheckpoints()
    read_side = await open_read_side(settings, store, checkpoints)
    queries_app = create_query_app(read_side, tokens)
    transports = (
        httpx.ASGITransport(app=create_command_app(write_side, tokens)),
        httpx.ASGITransport(app=queries_app),
    )
    headers = admin(tokens)
    try:
        async with background(
            settings, write_side, store, read_side.cache,
            on_checkpoint=checkpoints.update,
        ):  # fmt: skip
            load = MixedLoad(
                "http://commands", "http://queries", headers, users=size.users,
                workers=size.workers, readers=size.readers, pause=size.pause,
                transports=transports,
            )  # fmt: skip
            await load.register()
            stop = asyncio.Event()
            loading = asyncio.create_task(load.run(stop))
            await asyncio.sleep(size.before)
            store.fail_for(OUTAGE_SECONDS)
            await asyncio.sleep(OUTAGE_SECONDS + size.after)
            stop.set()
            await loading
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=queries_app), base_url="http://queries",
                headers=headers, timeout=30,
            ) as live:  # fmt: skip
                await verify(
                    settings, write_side, tokens, live, load, row,
                    queries_may={Result.UNAVAILABLE},
                )  # fmt: skip
            for name in NAMES:  # and document by document, tracking included
                mine = await snapshot(inner, write_side, name)
                theirs = await fresh(write_side, name)
                row.documents += sum(len(docs) for docs in theirs.values())
                for collection in theirs.keys() | mine.keys():
                    if mine.get(collection) != theirs.get(collection):
                        row.mismatches += 1
                        row.notes.append(f"store collection {collection} differs from a rebuild")
    finally:
        await read_side.cache.close()
        await inner.close()
        write_side.close()
    assert store.failed > 0, "the outage was met"
    if not any(o.result is Result.UNAVAILABLE for o in load.queries()):
        row.notes.append("no query met the outage")
    passed(row)

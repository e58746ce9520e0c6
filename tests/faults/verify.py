"""What a fault scenario checks once the fault is over.

1. Commands: each 2xx command's events are in the store (found by the correlation id
   its X-Request-ID became), each clean 503 appended nothing (an outcome-unknown 503
   may have), no stored event of the load is unaccounted for.
2. Catch-up: the relay's stored position and every projector's position reach the head
   within a bound.
3. Read models: every document the query API serves (every page of every list, every
   user, task, summary and audit trail) equals what the same query API serves over a
   fresh rebuild of the event store, and each user's activity summary counts each of
   their tracked events exactly once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from redis.asyncio import Redis

from cli.event_source import PublishedLog
from common.settings import Settings
from common.tokens import TokenCodec
from events.catalog import default_registry
from events.codec import EventCodec
from events.envelope import Envelope
from projections.catalog import NAMES, applier_factory
from projections.ports import NoCache
from projections.replay import replay
from read_side.api.app import create_query_app
from read_side.bootstrap import ReadSide
from read_side.cache import DocumentCache
from read_side.positions import LocalCheckpoints
from tests.support.load import MixedLoad, Result
from tests.support.stores import fresh_store
from write_side.event_store import StoreUnavailable
from write_side.postgres import PostgresEventStore

API = "/api/v1"
PROBES = {
    "users": "/users?limit=1",
    "tasks": "/tasks?limit=1",
    "analytics": f"/analytics/summary/user/{uuid.UUID(int=0)}",
    "audit": f"/audit/{uuid.UUID(int=0)}",
}
"""A cheap query per read model; even a 404 says how far its model has got."""


@dataclass
class Ledger:
    """Every stored event, by the request that caused it."""

    events: list[Envelope[Any]]
    by_request: dict[str, list[Envelope[Any]]] = field(default_factory=dict)

    @classmethod
    def read(cls, store: PostgresEventStore, within: float = 60.0) -> Ledger:
        """Retried for ``within`` s: after a restart of PostgreSQL the pool reconnects with
        a backoff of its own."""
        deadline = time.monotonic() + within
        while True:
            try:
                return cls._read(store)
            except StoreUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    @classmethod
    def _read(cls, store: PostgresEventStore) -> Ledger:
        events: list[Envelope[Any]] = []
        while batch := store.read_all(events[-1].position or 0 if events else 0, 5000):
            events.extend(batch)
        by_request: dict[str, list[Envelope[Any]]] = defaultdict(list)
        for event in events:
            by_request[event.correlation_id or ""].append(event)
        return cls(events, dict(by_request))

    @property
    def head(self) -> int:
        return self.events[-1].position or 0 if self.events else 0

    @property
    def published(self) -> list[Envelope[Any]]:
        return [e for e in self.events if e.event.published]


def command_problems(load: MixedLoad, ledger: Ledger) -> list[str]:
    """Succeeded commands left events, clean failures left none, nothing else appended."""
    problems = []
    sent = set()
    for outcome in load.commands():
        sent.add(outcome.request_id)
        said = f"{outcome.kind} {outcome.request_id}"
        stored = ledger.by_request.get(outcome.request_id, [])
        last = max((e.position or 0 for e in stored), default=None)
        if outcome.result is Result.SUCCEEDED and last != outcome.position:
            problems.append(f"{said}: X-Event-Position {outcome.position}, stored up to {last}")
        elif outcome.result is Result.UNAVAILABLE and stored:
            problems.append(f"{said} answered 503 but appended {len(stored)} event(s)")
        elif outcome.result not in (Result.SUCCEEDED, Result.UNAVAILABLE, Result.UNKNOWN):
            problems.append(f"{said}: {outcome.result} {outcome.status} {outcome.detail[:200]}")
    strays = [r for r in ledger.by_request if r.startswith("load-") and r not in sent]
    problems += [f"events of request {r} that the load never sent" for r in strays]
    return problems


async def wait_caught_up(
    queries: httpx.AsyncClient, store: PostgresEventStore, head: int, within: float
) -> dict[str, int]:
    """The relay's and each projector's position, once all reach ``head`` or time is up."""
    deadline = time.monotonic() + within
    positions: dict[str, int] = {}
    while True:
        for name, url in PROBES.items():
            try:
                response = await queries.get(
                    f"{API}{url}", headers={"X-Min-Position": str(head)}, timeout=10
                )
                positions[name] = int(response.headers.get("x-read-position", 0))
            except httpx.TransportError:
                positions[name] = 0
        positions["relay"] = await asyncio.to_thread(store.get_position, "relay")
        if min(positions.values()) >= head or time.monotonic() > deadline:
            return positions
        await asyncio.sleep(0.5)


@asynccontextmanager
async def rebuilt_queries(
    settings: Settings, store: PostgresEventStore, tokens: TokenCodec, headers: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """The query API over read models replayed from scratch, in process; its cache
    namespace is new, so every read misses and goes to the fresh store."""
    source = PublishedLog(store, EventCodec(default_registry()))
    checkpoints = LocalCheckpoints()
    async with AsyncExitStack() as stack:
        fresh = await stack.enter_async_context(fresh_store(settings.postgres_dsn, "fresh"))
        for name in NAMES:
            applier = applier_factory(name, fresh, source, NoCache())(0)
            await applier.setup()
            checkpoints.update(name, 0, await replay(applier))
        namespace = f"fresh_{uuid.uuid4().hex[:10]}"
        cache = await DocumentCache.connect(settings.redis_url, namespace)
        app = create_query_app(ReadSide(fresh, cache, checkpoints), tokens)
        stack.push_async_callback(_forget, settings, cache, namespace)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://fresh", headers=headers
        ) as client:
            yield client


async def _forget(settings: Settings, cache: DocumentCache, namespace: str) -> None:
    """Closes the fresh cache and deletes its keys."""
    try:
        await cache.close()
    finally:
        redis = Redis.from_url(settings.redis_url)
        keys = [k async for k in redis.scan_iter(match=f"{namespace}:*", count=1000)]
        if keys:
            await redis.unlink(*keys)
        await redis.aclose()


@dataclass
class Comparison:
    documents: int = 0
    mismatches: list[str] = field(default_factory=list)
    projected: int = 0
    """Audit entries the live read models hold: one per published event applied."""


async def compare(
    live: httpx.AsyncClient, fresh: httpx.AsyncClient, ledger: Ledger, load: MixedLoad
) -> Comparison:
    """Every document the live query API serves against the rebuilt one."""
    result = Comparison()
    users = load.user_ids
    tasks = sorted({str(e.stream_id) for e in ledger.published if e.type_name.startswith("task")})
    streams = sorted({str(e.stream_id) for e in ledger.published})
    lists = ["/users", "/tasks"] + [f"/users/{u}/tasks" for u in users]
    lists += [f"/analytics/events/user/{u}" for u in users] + [f"/audit/{s}" for s in streams]
    singles = [f"/users/{u}" for u in users] + [f"/tasks/{t}" for t in tasks]
    singles += [f"/analytics/summary/user/{u}" for u in users]
    gate = asyncio.Semaphore(8)

    async def one(url: str, paged: bool) -> None:
        async with gate:
            mine = await _all_items(live, url) if paged else await _document(live, url)
            theirs = await _all_items(fresh, url) if paged else await _document(fresh, url)
        result.documents += len(theirs) if isinstance(theirs, list) else 1
        if url.startswith("/audit/") and isinstance(mine, list):
            result.projected += len(mine)
        if mine != theirs:
            result.mismatches.append(f"{url}: live {_short(mine)} != rebuilt {_short(theirs)}")

    await asyncio.gather(*[one(u, True) for u in lists], *[one(u, False) for u in singles])
    result.mismatches += await _summary_counts(live, load, ledger)
    return result


async def _summary_counts(live: httpx.AsyncClient, load: MixedLoad, ledger: Ledger) -> list[str]:
    """Each user's summary counts each of their events once: every published event of
    theirs (their user stream, their tasks, their activities) in ``total_events``, and
    as many ``ui`` activities as the load's track commands that succeeded."""
    tracked = Counter(
        o.user_id for o in load.commands() if o.kind == "track" and o.result is Result.SUCCEEDED
    )
    owners: dict[str, str] = {}
    owned: Counter[str] = Counter()
    for event in ledger.published:
        stream, kind = str(event.stream_id), event.type_name.partition(".")[0]
        if kind == "task" and event.type_name == "task.created":
            owners[stream] = str(getattr(event.event, "user_id", ""))
        owner = {"user": stream, "activity": str(getattr(event.event, "user_id", ""))}.get(
            kind, owners.get(stream, "")
        )
        owned[owner] += 1
    problems = []
    for user in load.user_ids:
        summary = await _document(live, f"/analytics/summary/user/{user}")
        total = summary.get("total_events", 0)
        ui = summary.get("by_type", {}).get("ui", 0)
        if total != owned[user] or ui != tracked[user]:
            problems.append(f"summary of {user}: total_events {total} for {owned[user]} stored "
                            f"events; {ui} ui events for {tracked[user]} tracked")  # fmt: skip
    return problems


async def _document(client: httpx.AsyncClient, url: str) -> Any:
    response = await client.get(f"{API}{url}")
    if response.status_code == 404:
        return {"status": 404}
    assert response.status_code == 200, f"{client.base_url}{url}: {response.text[:300]}"
    return response.json()


async def _all_items(client: httpx.AsyncClient, url: str) -> list[Any]:
    items: list[Any] = []
    joiner = "&" if "?" in url else "?"
    while True:
        response = await client.get(f"{API}{url}{joiner}limit=100&offset={len(items)}")
        if response.status_code == 404:
            return items
        assert response.status_code == 200, f"{client.base_url}{url}: {response.text[:300]}"
        page = response.json()
        items.extend(page["items"])
        if not page["has_next"]:
            return items


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) < 300 else f"{text[:300]}…"

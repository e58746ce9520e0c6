"""A relay or projector that ends on its own is noticed, not left dead in a live process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from cli.processes import background
from common.settings import Settings
from read_side.cache import DocumentCache
from read_side.postgres import PostgresReadStore
from tests.support.faults import FaultyStore
from write_side.bootstrap import WriteSide


class Broken(FaultyStore):
    """A store whose every call fails in a way no retry is meant for."""

    async def through(self, call: Callable[[], Awaitable[Any]]) -> Any:
        raise RuntimeError("a bug, not an outage")


async def test_a_projector_that_dies_sets_died(
    settings: Settings, write_side: WriteSide, read_store: PostgresReadStore
) -> None:
    cache = await DocumentCache.connect(settings.redis_url, f"{settings.namespace}_died")
    try:
        async with background(
            settings, write_side, Broken(read_store), cache, relay=False, projectors=("audit",)
        ) as running:
            await asyncio.wait_for(running.died.wait(), timeout=10)
    finally:
        await cache.close()

    assert running.died.is_set()
    assert [entry.partition(":")[0] for entry in running.ended] == ["audit"]


async def test_stopping_on_purpose_is_not_dying(
    settings: Settings, write_side: WriteSide, read_store: PostgresReadStore
) -> None:
    cache = await DocumentCache.connect(settings.redis_url, f"{settings.namespace}_died")
    try:
        async with background(
            settings, write_side, read_store, cache, relay=True, projectors=()
        ) as running:
            await asyncio.sleep(0.2)
    finally:
        await cache.close()

    assert not running.died.is_set()
    assert running.ended == []


async def test_each_projector_says_when_it_has_replayed(
    settings: Settings, write_side: WriteSide, read_store: PostgresReadStore
) -> None:
    cache = await DocumentCache.connect(settings.redis_url, f"{settings.namespace}_replayed")
    replayed: list[str] = []
    both = asyncio.Event()

    def note() -> None:
        replayed.append("once")
        if len(replayed) == 2:
            both.set()

    try:
        async with background(
            settings, write_side, read_store, cache, relay=False,
            projectors=("users", "tasks"), on_replayed=note,
        ):  # fmt: skip
            await asyncio.wait_for(both.wait(), timeout=30)
    finally:
        await cache.close()

    assert replayed == ["once", "once"]

"""The relay: a transactional outbox that tails the event store into RabbitMQ.

It reads stored events in global-position order, publishes them with publisher
confirms, and stores its position only after every message of a batch was
confirmed. A crash or an outage therefore republishes (at least once), never
skips. It is woken by LISTEN/NOTIFY on each append, and polls as a fallback so
that a dropped LISTEN connection delays delivery but never stalls it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field

import psycopg
import structlog
from psycopg.sql import SQL, Identifier

from events.codec import EventCodec
from write_side.broker import AmqpPublisher, PublishFailed
from write_side.event_store import StoreUnavailable
from write_side.postgres import PostgresEventStore

log = structlog.get_logger("tasktrail.relay")


@dataclass
class Backoff:
    """Exponential backoff with full jitter."""

    base: float = 0.2
    cap: float = 10.0
    attempt: int = 0

    def next(self) -> float:
        self.attempt += 1
        return random.uniform(0, min(self.cap, self.base * 2**self.attempt))  # noqa: S311

    def reset(self) -> None:
        self.attempt = 0


@dataclass
class Relay:
    store: PostgresEventStore
    codec: EventCodec
    publisher: AmqpPublisher
    dsn: str
    name: str = "relay"
    batch_size: int = 500
    poll_seconds: float = 1.0
    position: int = 0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, stop: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen(stop), name="relay-listen")
        backoff = Backoff()
        try:
            self.position = await asyncio.to_thread(self.store.get_position, self.name)
            log.info("relay started", position=self.position)
            while not stop.is_set():
                try:
                    published = await self.step()
                    backoff.reset()
                except (PublishFailed, StoreUnavailable) as error:
                    delay = backoff.next()
                    log.warning("relay retrying", error=str(error), in_seconds=round(delay, 2))
                    await _sleep_unless(stop, delay)
                    continue
                if not published:
                    await _wait_any(stop, self._wake, self.poll_seconds)
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            await self.publisher.close()

    async def step(self) -> int:
        """Publishes the next batch; returns how many stored events it moved past."""
        self._wake.clear()
        batch = await asyncio.to_thread(self.store.read_all, self.position, self.batch_size)
        if not batch:
            return 0
        await self.publisher.publish(
            [self.codec.to_published(e) for e in batch if e.event.published]
        )
        last = batch[-1].position
        assert last is not None
        await asyncio.to_thread(self.store.set_position, self.name, last)
        self.position = last
        return len(batch)

    async def _listen(self, stop: asyncio.Event) -> None:
        """Sets the wake event on every NOTIFY; reconnects whenever the connection drops."""
        backoff = Backoff(base=0.5, cap=30)
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True, connect_timeout=5
                ) as conn:
                    await conn.execute(SQL("LISTEN {}").format(Identifier(self.store.channel)))
                    backoff.reset()
                    self._wake.set()  # catch up on whatever was appended while not listening
                    async for _ in conn.notifies():
                        self._wake.set()
            except (psycopg.Error, OSError) as error:
                delay = backoff.next()
                log.warning("relay listen lost; polling meanwhile", error=str(error))
                await _sleep_unless(stop, delay)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()

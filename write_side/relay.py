"""The relay: a transactional outbox that tails the event store into RabbitMQ.

It reads stored events in global-position order, publishes them with publisher
confirms, and stores its position only after every message of a batch was
confirmed. A crash or an outage therefore republishes (at least once), never
skips. It is woken by LISTEN/NOTIFY on each append, and polls as a fallback so
that a dropped LISTEN connection delays delivery but never stalls it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import psycopg
import structlog
from psycopg.sql import SQL, Identifier
from tenacity import AsyncRetrying

from common.retrying import until_stopped
from events.codec import EventCodec
from write_side.broker import AmqpPublisher, PublishFailed
from write_side.event_store import StoreUnavailable
from write_side.postgres import PostgresEventStore

log = structlog.get_logger("tasktrail.relay")


@dataclass
class Relay:
    store: PostgresEventStore
    codec: EventCodec
    publisher: AmqpPublisher
    dsn: str
    name: str = "relay"
    batch_size: int = 2000
    poll_seconds: float = 1.0
    position: int = 0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, stop: asyncio.Event) -> None:
        """Publishes until ``stop`` is set; a batch under way is finished (confirmed and its
        position stored) before it returns, so a graceful stop republishes nothing."""
        listener = asyncio.create_task(self._listen(stop), name="relay-listen")
        try:
            async for attempt in self._retrying(stop):
                with attempt:
                    if stop.is_set():
                        return
                    self.position = await asyncio.to_thread(self.store.get_position, self.name)
            log.info("relay started", position=self.position)
            while not stop.is_set():
                if not await self._next_batch(stop):
                    await _wait_any(stop, self._wake, self.poll_seconds)
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            await self.publisher.close()
            log.info("relay stopped", position=self.position)

    def _retrying(self, stop: asyncio.Event) -> AsyncRetrying:
        return until_stopped(
            stop, on=(PublishFailed, StoreUnavailable), first=0.2, cap=10, log=log,
            message="relay retrying",
        )  # fmt: skip

    async def _next_batch(self, stop: asyncio.Event) -> int:
        """step(), retried while RabbitMQ or PostgreSQL is away; 0 once stopping."""
        async for attempt in self._retrying(stop):
            with attempt:
                return 0 if stop.is_set() else await self.step()
        raise AssertionError("until_stopped never gives up")

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
        while not stop.is_set():
            conn = await self._listen_connection(stop)
            if conn is None:
                return
            try:
                async with conn:
                    await conn.execute(SQL("LISTEN {}").format(Identifier(self.store.channel)))
                    self._wake.set()  # catch up on whatever was appended while not listening
                    async for _ in conn.notifies():
                        self._wake.set()
            except (psycopg.Error, OSError) as error:
                log.warning("relay listen lost; polling meanwhile", error=str(error))

    async def _listen_connection(self, stop: asyncio.Event) -> psycopg.AsyncConnection | None:
        """A connection for LISTEN, retried with backoff; None once stopping. TCP
        keepalives notice a server that vanished without closing the connection."""
        async for attempt in until_stopped(
            stop, on=(psycopg.Error, OSError), first=0.5, cap=30, log=log,
            message="relay cannot listen; polling meanwhile",
        ):  # fmt: skip
            with attempt:
                if stop.is_set():
                    return None
                return await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True, connect_timeout=5,
                    keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3,
                )  # fmt: skip
        raise AssertionError("until_stopped never gives up")


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()

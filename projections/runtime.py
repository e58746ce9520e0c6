"""Runs one projector on its durable RabbitMQ queue.

On every (re)connection it binds its queue, then replays the event store from
its checkpoint, then consumes: nothing published while it was away, or before
its queue existed, is missed. Messages are taken in batches (prefetch), applied
in order, and acknowledged only once the batch's writes and its checkpoint are
committed together, so a crash means redelivery, which the applier absorbs. A handler that
keeps failing is retried with backoff, then its message goes to the projector's
dead-letter queue with the error, its stream is held back, and the projector
goes on with the rest.
An unreachable read store or event store is not the message's fault: the batch is
returned to the queue and the runner reconnects after a pause.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aio_pika
import orjson
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from common.amqp import connect
from common.retrying import until_stopped
from events.codec import EventCodec
from events.published import PublishedEvent
from projections.applier import Applier, ApplyFailed, OnFailure
from projections.catalog import ApplierFactory
from projections.ports import SourceUnavailable
from projections.replay import replay
from projections.session import Session
from read_side.generations import Generations
from read_side.store import Conflict, ReadStore, StoreUnavailable

log = structlog.get_logger("tasktrail.projector")

CheckpointListener = Callable[[str, int, int], None]
"""Told (projector, generation, position) after each stored checkpoint and each switch."""
CONFLICT_ATTEMPTS = 3
"""Times a batch is computed again on top of another writer's commit before the runner
reconnects (and replays from the checkpoint) instead."""
BROKER_TIMEOUT = 10.0
"""Seconds any one exchange with RabbitMQ (connect, declare, a confirmed publish) may take."""


def queue_name(namespace: str, projector: str) -> str:
    return f"{namespace}.{projector}"


def dead_letter_queue_name(namespace: str, projector: str) -> str:
    return f"{namespace}.{projector}.dead"


class ProjectionRunner:
    """Consumes for the projection's current generation, and follows it when it changes.

    A rebuild proposes a new generation it has built; the runner catches that
    generation up from the event store (everything it applied to the old one
    is there too) and then makes it current, so readers never see it behind
    what they saw before.
    """

    def __init__(
        self,
        name: str,
        appliers: ApplierFactory,
        store: ReadStore,
        *,
        amqp_url: str,
        namespace: str,
        prefetch: int = 256,
        attempts: int = 3,
        idle_check_seconds: float = 0.25,
        on_checkpoint: CheckpointListener | None = None,
        on_replayed: Callable[[], None] | None = None,
    ) -> None:
        """``on_replayed`` runs after each replay of the event store, when the read
        model has just grown in bulk (see common.heap)."""
        self.name = name
        self.appliers = appliers
        self.generations = Generations(store)
        self.generation = 0
        self.applier = appliers(0)
        self.amqp_url = amqp_url
        self.exchange = f"{namespace}.events"
        self.queue = queue_name(namespace, name)
        self.dead_letters = dead_letter_queue_name(namespace, name)
        self.prefetch = prefetch
        self.attempts = attempts
        self.idle_check_seconds = idle_check_seconds
        self.on_checkpoint = on_checkpoint
        self.on_replayed = on_replayed
        self.position = 0
        self.revision = 0

    async def follow_generation(self, channel: AbstractChannel) -> None:
        """Switches to the current or proposed generation, caught up, if it is another one."""
        state = await self.generations.state(self.name)
        wanted = state.next if state.next is not None else state.current
        if wanted == self.generation:
            return
        applier = self.appliers(wanted)
        await applier.setup()
        await replay(applier, on_failure=self._dead_letters_for(channel, applier))
        if state.next is not None:
            await self.generations.switch(self.name, state.current, wanted)
        log.info("projector switched generation", projector=self.name, generation=wanted)
        self.applier, self.generation = applier, wanted
        self.position, self.revision = await applier.tracking.checkpoint(applier.store)
        self._announce()
        self._replayed()

    async def run(self, stop: asyncio.Event) -> None:
        """Consumes until ``stop`` is set, reconnecting with backoff. On stop the batch
        under way is applied, committed and acknowledged; prefetched messages not yet
        taken stay unacknowledged and return to the queue when the connection closes.
        A batch another writer got ahead of (Conflict) goes back the same way, and is
        applied again on top of what that writer committed."""
        async for attempt in until_stopped(
            stop,
            # ChannelInvalidStateError (acking on a channel the broker just closed) is a
            # RuntimeError, not an AMQPError: without it the runner died silently.
            on=(aio_pika.exceptions.AMQPError, aio_pika.exceptions.ChannelInvalidStateError,
                ConnectionError, OSError, StoreUnavailable, SourceUnavailable, Conflict),
            first=0.5, cap=10, log=log.bind(projector=self.name),
            message="projector reconnecting",
        ):  # fmt: skip
            with attempt:
                if stop.is_set():
                    return
                self.generation = await self.generations.current(self.name)
                self.applier = self.appliers(self.generation)
                await self.applier.setup()
                self.position, self.revision = await self.applier.tracking.checkpoint(
                    self.applier.store
                )
                self._announce()
                await self._consume(stop)

    async def _consume(self, stop: asyncio.Event) -> None:
        connection = await connect(self.amqp_url, BROKER_TIMEOUT)
        lost = asyncio.Event()
        connection.close_callbacks.add(lambda *_: lost.set())
        async with connection:
            async with asyncio.timeout(BROKER_TIMEOUT):
                channel = await connection.channel(publisher_confirms=True)
                # A channel the broker closes, or a consumer it cancels (its queue was
                # deleted, a node failed over), leaves the connection up: without these
                # the runner would wait for deliveries that never come, silently.
                channel.close_callbacks.add(lambda *_: lost.set())
                underlay = await channel.get_underlay_channel()
                underlay.on_consumer_cancel_callbacks.add(lambda *_: lost.set())
                await channel.set_qos(prefetch_count=self.prefetch)
                exchange = await channel.declare_exchange(
                    self.exchange, aio_pika.ExchangeType.TOPIC, durable=True
                )
                queue = await channel.declare_queue(self.queue, durable=True)
                await queue.bind(exchange, "#")
                await channel.declare_queue(self.dead_letters, durable=True)
            # Bound first, then caught up: whatever was published before the queue
            # existed (or while this runner was away) is read from the event store;
            # everything after is in the queue; the overlap is absorbed as duplicates.
            await replay(self.applier, on_failure=self._dead_letters_for(channel, self.applier))
            self.position, self.revision = await self.applier.tracking.checkpoint(
                self.applier.store
            )
            self._announce()
            self._replayed()
            inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
            await queue.consume(inbox.put)
            log.info("projector consuming", projector=self.name, queue=self.queue)
            # A rebuild's new generation is looked for every idle_check_seconds, not
            # after every batch: under load that read was one in four of a batch's.
            looked = time.monotonic()
            while not stop.is_set():
                batch = await _next_batch(inbox, stop, lost, self.prefetch, self.idle_check_seconds)
                if lost.is_set():
                    raise ConnectionError("RabbitMQ closed the connection, channel or consumer")
                if batch:
                    await self._process(batch, channel)
                if not batch or time.monotonic() - looked >= self.idle_check_seconds:
                    await self.follow_generation(channel)
                    looked = time.monotonic()

    async def _process(
        self, batch: list[AbstractIncomingMessage], channel: AbstractChannel
    ) -> None:
        events: list[PublishedEvent] = []
        for message in batch:
            try:
                events.append(EventCodec.decode_message(message.body))
            except (ValueError, KeyError, TypeError) as error:
                await self._publish_dead_letter(
                    channel, message.body, message.message_id, message.routing_key,
                    dict(message.headers or {}), f"undecodable message: {error!r}",
                )  # fmt: skip
        applier = self.applier
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            session = applier.session()
            await applier.apply_all(session, events, self._retrying(channel, applier))
            top = max([self.position, *(event.position for event in events)])
            try:
                self.revision = await applier.commit(session, top, self.revision)
                break
            except Conflict:  # a dead-letter retry from the CLI, say: apply on top of it
                if attempt == CONFLICT_ATTEMPTS:
                    raise
                self.position, self.revision = await applier.tracking.checkpoint(applier.store)
        await batch[-1].ack(multiple=True)
        self.position = top
        self._announce()

    def _retrying(self, channel: AbstractChannel, applier: Applier) -> OnFailure:
        """Tries a failed event again a few times, with backoff, before dead-lettering it."""
        dead_letter = self._dead_letters_for(channel, applier)

        async def on_failure(failure: ApplyFailed, session: Session) -> None:
            for attempt in range(1, self.attempts):
                await asyncio.sleep(0.05 * 2 ** (attempt - 1))
                try:
                    await applier.apply(session, failure.event)
                    return
                except ApplyFailed as again:
                    failure = again
            await dead_letter(failure, session)

        return on_failure

    def _dead_letters_for(self, channel: AbstractChannel, applier: Applier) -> OnFailure:
        """What a replay does with an event it cannot apply: the same as live delivery."""

        async def on_failure(failure: ApplyFailed, session: Session) -> None:
            await self._dead_letter(channel, applier, failure, session)

        return on_failure

    async def _dead_letter(
        self, channel: AbstractChannel, applier: Applier, failure: ApplyFailed, session: Session
    ) -> None:
        """Dead-letters the event that failed, which may be an earlier one read to fill a
        gap, and holds its stream back at that version."""
        event = failure.event
        headers: dict[str, Any] = {
            "position": event.position,
            "stream_id": event.stream_id,
            "stream_version": event.stream_version,
            "correlation_id": event.correlation_id or "",
        }
        await self._publish_dead_letter(
            channel, orjson.dumps(event), event.event_id, event.type, headers, repr(failure.error)
        )
        await applier.block(session, event)

    async def _publish_dead_letter(
        self,
        channel: AbstractChannel,
        body: bytes,
        message_id: str | None,
        routing_key: str | None,
        headers: dict[str, Any],
        error: str,
    ) -> None:
        log.error("dead-lettered", projector=self.name, message_id=message_id, error=error)
        headers |= {
            "x-error": error[:2000],
            "x-projector": self.name,
            "x-routing-key": routing_key or "",
            "x-dead-lettered-at": datetime.now(UTC).isoformat(),
        }
        await channel.default_exchange.publish(
            aio_pika.Message(
                body=body,
                headers=headers,
                content_type="application/json",
                message_id=message_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=self.dead_letters,
            timeout=BROKER_TIMEOUT,
        )

    def _announce(self) -> None:
        if self.on_checkpoint is not None:
            self.on_checkpoint(self.name, self.generation, self.position)

    def _replayed(self) -> None:
        if self.on_replayed is not None:
            self.on_replayed()


async def _next_batch(
    inbox: asyncio.Queue[AbstractIncomingMessage],
    stop: asyncio.Event,
    lost: asyncio.Event,
    limit: int,
    idle_seconds: float,
) -> list[AbstractIncomingMessage]:
    """Waits for one message (or stop, a lost connection, or an idle tick), then takes
    what is waiting."""
    getter = asyncio.ensure_future(inbox.get())
    stopped = asyncio.ensure_future(stop.wait())
    broken = asyncio.ensure_future(lost.wait())
    await asyncio.wait(
        [getter, stopped, broken], timeout=idle_seconds, return_when=asyncio.FIRST_COMPLETED
    )
    for waiter in (stopped, broken):
        waiter.cancel()
    if not getter.done():
        getter.cancel()
        return []
    batch = [getter.result()]
    while len(batch) < limit and not inbox.empty():
        batch.append(inbox.get_nowait())
    return batch

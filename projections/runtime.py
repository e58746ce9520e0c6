"""Runs one projector on its durable RabbitMQ queue.

On every (re)connection it binds its queue, then replays the event store from
its checkpoint, then consumes: nothing published while it was away, or before
its queue existed, is missed. Messages are taken in batches (prefetch), applied
in order, and acknowledged only after the batch is flushed and the checkpoint
stored, so a crash means redelivery, which the applier absorbs. A handler that
keeps failing is retried with backoff, then its message goes to the projector's
dead-letter queue with the error, its stream is held back, and the projector
goes on with the rest.
An unreachable read store is not the message's fault: the batch is returned to
the queue and the runner reconnects after a pause.
"""

from __future__ import annotations

import asyncio
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
from projections.applier import Applier, ApplyFailed
from projections.catalog import ProjectorFactory
from projections.ports import EventSource
from projections.replay import OnFailure, replay
from read_side.generations import Generations, GenerationView
from read_side.store import ReadStore, StoreUnavailable

log = structlog.get_logger("tasktrail.projector")

CheckpointListener = Callable[[str, int, int], None]
"""Told (projector, generation, position) after each stored checkpoint and each switch."""
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
        factory: ProjectorFactory,
        store: ReadStore,
        source: EventSource,
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
        self.factory = factory
        self.store = store
        self.source = source
        self.generations = Generations(store)
        self.generation = 0
        self.applier = self._applier(0)
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

    def _applier(self, generation: int) -> Applier:
        return Applier(
            self.factory(generation), GenerationView(self.store, generation), self.source
        )

    async def follow_generation(self, channel: AbstractChannel) -> None:
        """Switches to the current or proposed generation, caught up, if it is another one."""
        state = await self.generations.state(self.name)
        wanted = state.next if state.next is not None else state.current
        if wanted == self.generation:
            return
        await self.applier.projector.flush(self.applier.store)
        applier = self._applier(wanted)
        await applier.projector.setup(applier.store)
        position = await replay(
            applier,
            after=await applier.tracking.checkpoint(),
            on_failure=self._dead_letters_for(channel, applier),
        )
        if state.next is not None:
            await self.generations.switch(self.name, state.current, wanted)
        log.info("projector switched generation", projector=self.name, generation=wanted)
        self.applier, self.generation, self.position = applier, wanted, position
        self._announce()
        self._replayed()

    async def run(self, stop: asyncio.Event) -> None:
        """Consumes until ``stop`` is set, reconnecting with backoff. On stop the batch
        under way is applied, flushed and acknowledged; prefetched messages not yet taken
        stay unacknowledged and return to the queue when the connection closes."""
        async for attempt in until_stopped(
            stop,
            # ChannelInvalidStateError (acking on a channel the broker just closed) is a
            # RuntimeError, not an AMQPError: without it the runner died silently.
            on=(aio_pika.exceptions.AMQPError, aio_pika.exceptions.ChannelInvalidStateError,
                ConnectionError, OSError, StoreUnavailable),
            first=0.5, cap=10, log=log.bind(projector=self.name),
            message="projector reconnecting",
        ):  # fmt: skip
            with attempt:
                if stop.is_set():
                    return
                self.generation = await self.generations.current(self.name)
                self.applier = self._applier(self.generation)
                await self.applier.projector.setup(self.applier.store)
                self.position = await self.applier.tracking.checkpoint()
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
            self.position = await replay(
                self.applier,
                after=self.position,
                on_failure=self._dead_letters_for(channel, self.applier),
            )
            self._announce()
            self._replayed()
            inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
            await queue.consume(inbox.put)
            log.info("projector consuming", projector=self.name, queue=self.queue)
            while not stop.is_set():
                batch = await _next_batch(inbox, stop, lost, self.prefetch, self.idle_check_seconds)
                if lost.is_set():
                    raise ConnectionError("RabbitMQ closed the connection, channel or consumer")
                if batch:
                    await self._process(batch, channel)
                await self.follow_generation(channel)

    async def _process(
        self, batch: list[AbstractIncomingMessage], channel: AbstractChannel
    ) -> None:
        top = self.position
        async with self.applier.tracking.batch():
            for message in batch:
                try:
                    event = EventCodec.decode_message(message.body)
                except (ValueError, KeyError, TypeError) as error:
                    await self._publish_dead_letter(
                        channel, message.body, message.message_id, message.routing_key,
                        dict(message.headers or {}), f"undecodable message: {error!r}",
                    )  # fmt: skip
                    continue
                try:
                    await self._apply_with_retries(event)
                except ApplyFailed as failure:  # StoreUnavailable passes: the batch goes back
                    await self._dead_letter(channel, self.applier, failure)
                top = max(top, event.position)
            await self.applier.projector.flush(self.applier.store)
        await self.applier.tracking.save_checkpoint(top)
        await batch[-1].ack(multiple=True)
        self.position = top
        self._announce()

    async def _apply_with_retries(self, event: PublishedEvent) -> None:
        for attempt in range(self.attempts):
            try:
                await self.applier.apply(event)
                return
            except ApplyFailed:
                if attempt == self.attempts - 1:
                    raise
                await asyncio.sleep(0.05 * 2**attempt)

    def _dead_letters_for(self, channel: AbstractChannel, applier: Applier) -> OnFailure:
        """What a replay does with an event it cannot apply: the same as live delivery."""

        async def on_failure(failure: ApplyFailed) -> None:
            await self._dead_letter(channel, applier, failure)

        return on_failure

    async def _dead_letter(
        self, channel: AbstractChannel, applier: Applier, failure: ApplyFailed
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
        await applier.block(event)

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

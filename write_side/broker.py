"""Publishing to RabbitMQ with publisher confirms, many messages in flight."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import aio_pika
import orjson
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange

from common.amqp import connect
from events.published import PublishedEvent


class PublishFailed(Exception):
    """The broker did not confirm every message of a batch; none may be assumed stored."""


def exchange_name(namespace: str) -> str:
    return f"{namespace}.events"


def to_message(event: PublishedEvent) -> aio_pika.Message:
    return aio_pika.Message(
        body=orjson.dumps(event),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=event.event_id,
        type=event.type,
        headers={
            "position": event.position,
            "stream_id": event.stream_id,
            "stream_version": event.stream_version,
            "correlation_id": event.correlation_id or "",
        },
    )


class AmqpPublisher:
    """Connects lazily; after any failure the next publish reconnects from scratch."""

    def __init__(self, url: str, namespace: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.exchange_name = exchange_name(namespace)
        self.timeout = timeout
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None

    async def _ready(self) -> AbstractExchange:
        if self._exchange is None:
            self._connection = await connect(self.url, self.timeout)
            self._channel = await self._connection.channel(publisher_confirms=True)
            self._exchange = await self._channel.declare_exchange(
                self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
        return self._exchange

    async def publish(self, events: Sequence[PublishedEvent]) -> None:
        """Returns once the broker has confirmed every message; raises PublishFailed if not."""
        if not events:
            return
        try:
            async with asyncio.timeout(self.timeout):  # connecting, publishing and confirms
                exchange = await self._ready()
                await asyncio.gather(
                    *(exchange.publish(to_message(e), routing_key=e.routing_key) for e in events)
                )
        except Exception as error:
            await self.close()
            raise PublishFailed(f"{type(error).__name__}: {error}") from error

    async def close(self) -> None:
        connection, self._connection, self._channel, self._exchange = (
            self._connection, None, None, None,
        )  # fmt: skip
        if connection is not None and not connection.is_closed:
            with contextlib.suppress(Exception):  # a broken connection may fail to close
                await connection.close()

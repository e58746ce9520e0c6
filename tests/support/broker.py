"""Real RabbitMQ helpers for tests: a queue bound to a namespace's exchange, and outages."""

from __future__ import annotations

import aio_pika


async def bound_queue(url: str, exchange: str, queue: str) -> None:
    """A durable queue on ``exchange`` (declared here if missing), bound to every key."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        ex = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        declared = await channel.declare_queue(queue, durable=True)
        await declared.bind(ex, "#")


async def drain(url: str, queue: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Every message now in ``queue``, acknowledged."""
    connection = await aio_pika.connect(url)
    messages = []
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, durable=True, passive=True)
        while (message := await declared.get(fail=False, no_ack=True)) is not None:
            messages.append(message)
    return messages


async def delete(
    url: str, *, queues: tuple[str, ...] = (), exchanges: tuple[str, ...] = ()
) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for queue in queues:
            await channel.queue_delete(queue)
        for exchange in exchanges:
            await channel.exchange_delete(exchange)


async def consumers(url: str, queue: str) -> int:
    """How many consumers ``queue`` has now; 0 if it does not exist."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        try:
            declared = await channel.declare_queue(queue, durable=True, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            return 0
        return declared.declaration_result.consumer_count or 0

"""Connecting to RabbitMQ without leaving a failed attempt behind."""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractConnection
from aio_pika.connection import make_url


async def connect(amqp_url: str, connect_seconds: float) -> AbstractConnection:
    """aio_pika.connect, but a failed attempt is closed here, not left to aio-pika's
    ``__del__``, which schedules the close on whatever loop is current when the garbage
    collector gets to it (and warns, if none is running). Every broker outage made one."""
    connection = aio_pika.Connection(make_url(amqp_url))
    try:
        await connection.connect(timeout=connect_seconds)
    except BaseException:
        await connection.close()
        raise
    return connection

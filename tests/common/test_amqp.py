"""A failed connection attempt is closed at once, not left to aio-pika's __del__."""

from __future__ import annotations

from typing import Any

import aio_pika
import pytest

from common.amqp import connect
from common.settings import Settings


async def test_a_failed_attempt_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[aio_pika.Connection] = []
    close = aio_pika.Connection.close

    async def recorded(self: aio_pika.Connection, *args: Any, **kwargs: Any) -> None:
        closed.append(self)
        await close(self, *args, **kwargs)

    monkeypatch.setattr(aio_pika.Connection, "close", recorded)

    with pytest.raises(ConnectionError):
        await connect("amqp://guest:guest@127.0.0.1:1/", 2)

    assert len(closed) == 1
    assert closed[0].is_closed


async def test_a_successful_attempt_is_open(settings: Settings) -> None:
    connection = await connect(settings.rabbitmq_url, 5)
    async with connection:
        assert not connection.is_closed
    assert connection.is_closed

"""A lean load-generating HTTP/1.1 client: one keep-alive connection per worker.

httpx checks every pooled connection on each request; under B5's and B7's load
that check (``_assign_requests_to_connections``) took most of the client's CPU on
this 2-core machine, so the client, not the server, set the pace. Here each
worker owns its connection and h11 (the protocol library under httpx) does the
parsing: no pool, nothing to scan.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11
import orjson

from bench.auth import bearer


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return orjson.loads(self.body)


class Connection:
    """Sequential requests over one connection, reopened if the server closed it."""

    def __init__(self, base: str, *, authorized: bool = True) -> None:
        url = urlsplit(base)
        self._host, self._port = url.hostname or "127.0.0.1", url.port or 80
        self._headers = [("host", f"{self._host}:{self._port}")] + (
            list(bearer().items()) if authorized else []
        )
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._h11 = h11.Connection(h11.CLIENT)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        if self._writer is None or self._h11.our_state is not h11.IDLE:
            await self._open()
        assert self._reader is not None
        assert self._writer is not None
        body = b"" if json is None else orjson.dumps(json)
        sent = [*self._headers, *(headers or {}).items(), ("content-length", str(len(body)))]
        if json is not None:
            sent.append(("content-type", "application/json"))
        data = self._h11.send(h11.Request(method=method, target=path, headers=sent))
        data += self._h11.send(h11.Data(data=body)) + self._h11.send(h11.EndOfMessage())
        self._writer.write(data)
        response: h11.Response | None = None
        chunks: list[bytes] = []
        while True:
            event = self._h11.next_event()
            if event is h11.NEED_DATA:
                received = await self._reader.read(65536)
                self._h11.receive_data(received)
                if not received and response is None:
                    raise ConnectionError("the server closed the connection")
            elif isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
        assert response is not None
        self._h11.start_next_cycle()
        return Answer(
            response.status_code,
            {name.decode(): value.decode() for name, value in response.headers},
            b"".join(chunks),
        )

    async def _open(self) -> None:
        await self.close()
        self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        self._h11 = h11.Connection(h11.CLIENT)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

"""Streams a command read recently, kept so that the next command need not load them.

Some streams a command only reads to decide: CreateTask reads its owner's. Loading
one is a blocking round trip from a worker thread, and under load it was the
costliest thing a CreateTask did: B1 went from about 1,025 to 1,675 req/s without
it. A kept stream may be stale, since another process may have appended to it
since. The executor makes that safe: the append is refused if a stream the
command read has moved on (Append.reads), and a refusal decided on kept streams
is decided again on fresh ones. Staleness costs a retry, never a wrong answer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from events.envelope import Envelope


class StreamCache:
    """The most recently used ``max_streams`` streams; safe to share between threads."""

    def __init__(self, max_streams: int) -> None:
        self.max_streams = max_streams
        self._streams: OrderedDict[UUID, tuple[Envelope[Any], ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, stream_id: UUID) -> tuple[Envelope[Any], ...] | None:
        with self._lock:
            stream = self._streams.get(stream_id)
            if stream is not None:
                self._streams.move_to_end(stream_id)
            return stream

    def put(self, stream_id: UUID, stream: Sequence[Envelope[Any]]) -> None:
        """Keeps a stream as loaded. An empty one is not kept: a stream that does not
        exist yet is the likeliest to appear soon."""
        if not stream:
            return
        with self._lock:
            self._streams[stream_id] = tuple(stream)
            self._streams.move_to_end(stream_id)
            while len(self._streams) > self.max_streams:
                self._streams.popitem(last=False)

    def forget(self, stream_ids: Iterable[UUID]) -> None:
        with self._lock:
            for stream_id in stream_ids:
                self._streams.pop(stream_id, None)

    def __len__(self) -> int:
        return len(self._streams)

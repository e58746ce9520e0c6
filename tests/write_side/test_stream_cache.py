"""The cache of streams commands read."""

from __future__ import annotations

import uuid

from tests.write_side.test_postgres import a_task_created, envelope
from write_side.stream_cache import StreamCache


def test_keeps_the_most_recently_used_streams_only() -> None:
    cache = StreamCache(max_streams=2)
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for stream in (a, b):
        cache.put(stream, [envelope(a_task_created(), stream, 1)])
    assert cache.get(a) is not None  # a is now more recent than b

    cache.put(c, [envelope(a_task_created(), c, 1)])

    assert (cache.get(a) is not None, cache.get(b), cache.get(c) is not None) == (True, None, True)
    assert len(cache) == 2


def test_an_empty_stream_is_not_kept_and_a_forgotten_one_is_gone() -> None:
    cache = StreamCache(max_streams=10)
    missing, kept = uuid.uuid4(), uuid.uuid4()
    cache.put(missing, [])
    cache.put(kept, [envelope(a_task_created(), kept, 1)])

    cache.forget([kept, uuid.uuid4()])

    assert (cache.get(missing), cache.get(kept), len(cache)) == (None, None, 0)

"""Single documents by id: Redis first, then the read store, filling Redis on a miss."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
from starlette.responses import Response

from common.problems import Problem
from read_side.api.responses import json_body, not_found
from read_side.bootstrap import ReadSide
from read_side.generations import at, cache_kind
from read_side.store import REV, Table, public_view


async def cached_document(
    read_side: ReadSide,
    kind: str,
    table: Table,
    id: str,
    position: int,
    *,
    visible: Callable[[Mapping[str, Any]], bool] | None = None,
) -> Response:
    """``table`` is named like its projection (users, tasks). A document the caller may
    not see (``visible`` says False) is answered as missing."""
    generation = await read_side.generations.current(table.name)
    physical_kind = cache_kind(kind, generation)
    hit = await read_side.cache.get(physical_kind, id)
    if hit is not None:
        if hit.body is None:  # a tombstone: deleted
            raise _missing(kind, id, position)
        if visible is not None and not visible(orjson.loads(hit.body)):
            raise _missing(kind, id, position)
        return json_body(hit.body, position)
    doc = await read_side.store.get(at(table, generation), id)
    if doc is None:
        raise _missing(kind, id, position)
    body = orjson.dumps(public_view(doc))
    await read_side.cache.put(physical_kind, id, doc[REV], body)
    if visible is not None and not visible(doc):
        raise _missing(kind, id, position)
    return json_body(body, position)


def _missing(kind: str, id: str, position: int) -> Problem:
    return not_found(f"{kind} {id} does not exist", position)

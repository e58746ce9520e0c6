"""Single documents by id: Redis first, then the read store, filling Redis on a miss."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from read_side.api.responses import json_body, not_found
from read_side.bootstrap import ReadSide
from read_side.generations import cache_kind
from read_side.store import public_view


async def cached_document(
    read_side: ReadSide, kind: str, collection: str, id: str, position: int
) -> Response:
    """``collection`` is also the projection's name (users, tasks)."""
    view = await read_side.view(collection)
    kind = cache_kind(kind, view.generation)
    hit = await read_side.cache.get(kind, id)
    if hit is not None:
        if hit.body is None:  # a tombstone: deleted
            raise not_found(f"{kind} {id} does not exist", position)
        return json_body(hit.body, position)
    doc = await view.collection(collection).find_one({"_id": id})
    if doc is None:
        raise not_found(f"{kind} {id} does not exist", position)
    body = orjson.dumps(public_view(doc))
    await read_side.cache.put(kind, id, doc["_rev"], body)
    return json_body(body, position)

"""Writing a projector's document and its cache entry together.

Every write bumps the document's ``_rev``; the cache keeps the highest ``_rev``
it was given, so a slow read-through of an older document can never replace
what the projector wrote after it.
"""

from __future__ import annotations

from typing import Any

import orjson

from projections.ports import DocumentCache
from read_side.store import Collection, DuplicateKey, public_view


async def refresh_cache(collection: Collection, cache: DocumentCache, kind: str, id: str) -> None:
    if not cache.enabled:
        return  # a rebuild's read-backs were 7% of its time
    doc = await collection.find_one({"_id": id})
    if doc is not None:
        await cache.put(kind, id, doc["_rev"], orjson.dumps(public_view(doc)))


async def create_and_cache(
    collection: Collection, cache: DocumentCache, kind: str, id: str, document: dict[str, Any]
) -> bool:
    """Writes a stream's first document, unless one at its version or later is there;
    False if one was."""
    try:
        await collection.update_one(
            {"_id": id, "version": {"$lt": document["version"]}},
            {"$set": document, "$inc": {"_rev": 1}},
            upsert=True,
        )
    except DuplicateKey:
        return False  # already applied
    await refresh_cache(collection, cache, kind, id)
    return True


async def update_and_cache(
    collection: Collection,
    cache: DocumentCache,
    kind: str,
    id: str,
    filter: dict[str, Any],
    update: dict[str, Any],
) -> bool:
    """Applies ``update`` (adding a ``_rev`` bump) and refreshes the cache if it matched."""
    update = {**update, "$inc": {**update.get("$inc", {}), "_rev": 1}}
    result = await collection.update_one({"_id": id, **filter}, update)
    if result.matched:
        await refresh_cache(collection, cache, kind, id)
    return bool(result.matched)


async def delete_and_cache(
    collection: Collection, cache: DocumentCache, kind: str, id: str
) -> None:
    """Deletes the document and leaves a tombstone, so no older copy can be cached again."""
    if not cache.enabled:
        await collection.delete_one({"_id": id})
        return
    doc = await collection.find_one({"_id": id}, {"_rev": 1})
    if doc is None:
        return
    await collection.delete_one({"_id": id})
    await cache.put_tombstone(kind, id, doc["_rev"] + 1)

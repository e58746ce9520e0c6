"""After concurrent updates and racing read-throughs, the cache matches the read store."""

from __future__ import annotations

import asyncio

import orjson

from read_side.generations import Generations, at
from read_side.store import REV, public_view
from read_side.tables import USERS
from tests.conftest import System
from tests.write_side.api.given import new_user_body


async def test_the_cache_is_never_older_than_the_read_store(system: System) -> None:
    api = system.api
    created = await api.post("/api/v1/users", json=new_user_body())
    uid = created.json()["id"]

    async def reader() -> None:
        for _ in range(30):  # read-throughs that may carry older documents into the cache
            await api.get(f"/api/v1/users/{uid}")
            await asyncio.sleep(0)

    patches = [api.patch(f"/api/v1/users/{uid}", json={"bio": f"bio {i}"}) for i in range(30)]
    results = await asyncio.gather(*patches, *(reader() for _ in range(5)))
    applied = [r for r in results if r is not None and r.status_code == 200]
    assert {r.status_code for r in results if r is not None} <= {200, 409}
    positions = [int(r.headers["x-event-position"]) for r in applied]

    read = await api.get(f"/api/v1/users/{uid}", headers={"X-Min-Position": str(max(positions))})
    generation = await Generations(system.store).current("users")
    doc = await system.store.get(at(USERS, generation), uid)
    hit = await system.cached("user", uid)

    assert doc is not None
    assert hit is not None
    assert hit.version == doc[REV]
    assert hit.body == orjson.dumps(public_view(doc))
    assert read.content == hit.body
    assert read.json()["version"] == 1 + sum(
        1 for r in results if r is not None and r.status_code == 200
    )

"""The unit of work against the real PostgreSQL read store."""

from __future__ import annotations

import pytest

from projections.session import Session
from read_side.postgres import PostgresReadStore
from read_side.store import REV, Changes, Conflict, Field, Table, Unstorable

ITEMS = Table("items", fields=(Field("owner"),), indexes=(("owner",),))


@pytest.fixture
async def store(read_store: PostgresReadStore) -> PostgresReadStore:
    await read_store.create([ITEMS])
    await read_store.commit(Changes(puts={ITEMS: {"a": {"id": "a", "owner": "ann", REV: 3}}}))
    return read_store


async def test_writes_wait_for_the_commit_and_revisions_count_on(
    store: PostgresReadStore,
) -> None:
    session = Session(store)
    stored = await session.get(ITEMS, "a")
    assert stored is not None
    session.put(ITEMS, "a", stored | {"owner": "bob"})
    session.put(ITEMS, "b", {"id": "b", "owner": "bob"})

    assert (await session.get(ITEMS, "a") or {})["owner"] == "bob", "the batch sees its writes"
    assert (await store.get(ITEMS, "a") or {})["owner"] == "ann", "nothing stored yet"
    await session.commit()
    assert await store.get(ITEMS, "a") == {"id": "a", "owner": "bob", REV: 4}
    assert await store.get(ITEMS, "b") == {"id": "b", "owner": "bob", REV: 1}


async def test_an_undone_block_takes_back_puts_deletes_and_inserts(
    store: PostgresReadStore,
) -> None:
    session = Session(store)
    await session.get(ITEMS, "a")
    session.put(ITEMS, "c", {"id": "c", "owner": "cat"})

    def failing_halfway() -> None:
        with session.undoable():
            session.delete(ITEMS, "a")
            session.put(ITEMS, "c", {"id": "c", "owner": "dog"})
            session.put(ITEMS, "d", {"id": "d", "owner": "dog"})
            session.insert(ITEMS, "e", {"id": "e", "owner": "eel"})
            raise RuntimeError("the event failed halfway")

    with pytest.raises(RuntimeError):
        failing_halfway()
    await session.commit()

    assert (await store.get(ITEMS, "a") or {})["owner"] == "ann"
    assert (await store.get(ITEMS, "c") or {})["owner"] == "cat"
    assert await store.get_many(ITEMS, ["d", "e"]) == {}


async def test_a_commit_from_a_stale_revision_writes_nothing(store: PostgresReadStore) -> None:
    first, second = Session(store), Session(store)
    for session, owner in ((first, "first"), (second, "second")):
        stored = await session.get(ITEMS, "a")
        assert stored is not None
        session.expect(ITEMS, "a", stored[REV])
        session.put(ITEMS, "a", stored | {"owner": owner})
        session.put(ITEMS, f"by {owner}", {"id": owner, "owner": owner})
    await first.commit()

    with pytest.raises(Conflict):
        await second.commit()

    assert (await store.get(ITEMS, "a") or {})["owner"] == "first"
    assert await store.get(ITEMS, "by second") is None


async def test_nul_is_refused_when_put_not_when_committed(store: PostgresReadStore) -> None:
    session = Session(store)
    with pytest.raises(Unstorable):
        session.put(ITEMS, "x", {"id": "x", "properties": {"a\x00b": 1}})
    with pytest.raises(Unstorable):
        session.insert(ITEMS, "y", {"id": "y", "name": "\ud800"})
    assert not session.changes

"""The read store port's contract: every adapter must pass the same cases.

MongoDB comes from TASKTRAIL_MONGO_URL or, where Docker runs, a mongo:7 container; with
neither, its cases are skipped and the in-process store alone answers for the contract.
"""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from types import MappingProxyType
from typing import Any
from uuid import uuid4

import docker
import pytest
from docker.errors import DockerException
from pymongo import AsyncMongoClient
from testcontainers.community.mongodb import MongoDbContainer

from read_side.memory import MemoryReadStore
from read_side.mongo import MongoReadStore
from read_side.store import Document, DuplicateKey, ReadStore, UpdateResult


def ids(documents: list[Document]) -> list[Any]:
    return [document["_id"] for document in documents]


def containing(text: str) -> dict[str, Any]:
    """How queries search user text: case-insensitive, with the text taken literally."""
    return {"$regex": re.escape(text), "$options": "i"}


class StoreContract:
    """Every case, run once per adapter by the subclasses' ``store`` fixtures."""

    async def test_insert_one_refuses_a_taken_id_without_error(self, store: ReadStore) -> None:
        users = store.collection("users")

        assert await users.insert_one({"_id": "u1", "name": "first"}) is True
        assert await users.insert_one({"_id": "u1", "name": "second"}) is False

        assert await users.find_one({"_id": "u1"}) == {"_id": "u1", "name": "first"}

    async def test_an_id_filter_with_more_conditions_applies_all_of_them(
        self, store: ReadStore
    ) -> None:
        users = store.collection("users")
        await users.insert_many([{"_id": f"u{i}", "version": i} for i in range(50)])

        assert await users.find_one({"_id": "u7", "version": 8}) is None
        assert await users.find_one({"_id": "u7", "version": {"$lt": 8}}) == {
            "_id": "u7",
            "version": 7,
        }
        assert await users.find_one({"_id": "nobody"}) is None
        assert await users.count({"_id": "u7"}) == 1
        assert await users.count({"_id": {"$in": ["u1", "u2", "nobody"]}}) == 2
        stale = await users.update_one({"_id": "u7", "version": {"$lt": 7}}, {"$set": {"x": 1}})
        fresh = await users.update_one({"_id": "u7", "version": {"$lt": 8}}, {"$set": {"x": 1}})
        assert (stale.matched, fresh.matched, fresh.modified) == (0, 1, 1)
        assert await users.delete_one({"_id": "u8", "version": 9}) == 0
        assert await users.delete_one({"_id": "u8"}) == 1
        assert await users.count({}) == 49

    async def test_lookups_on_an_indexed_field_follow_every_kind_of_write(
        self, store: ReadStore
    ) -> None:
        tasks = store.collection("tasks")
        await tasks.create_index([("user_id", 1), ("status", 1)])
        await tasks.insert_many([{"_id": f"t{i}", "user_id": f"u{i % 3}"} for i in range(9)])
        await tasks.insert_one({"_id": "t9"})  # without the field: matches None

        await tasks.update_one({"_id": "t0"}, {"$set": {"user_id": "u1"}})
        await tasks.update_one(
            {"user_id": "u2", "_id": {"$in": ["t2"]}}, {"$set": {"user_id": "u9"}}
        )
        await tasks.update_one({"_id": "new"}, {"$set": {"user_id": "u0"}}, upsert=True)
        await tasks.delete_one({"_id": "t3"})
        await tasks.delete_many({"user_id": "u1", "_id": {"$in": ["t4"]}})

        by_user = {u: sorted(d["_id"] for d in await tasks.find({"user_id": u})) for u in
                   ("u0", "u1", "u2", "u9", None)}  # fmt: skip
        assert by_user == {
            "u0": ["new", "t6"], "u1": ["t0", "t1", "t7"], "u2": ["t5", "t8"], "u9": ["t2"],
            None: ["t9"],
        }  # fmt: skip
        grouped = await tasks.aggregate(
            [{"$match": {"user_id": "u1"}}, {"$group": {"_id": "$user_id", "n": {"$sum": 1}}}]
        )
        assert grouped == [{"_id": "u1", "n": 3}]

    async def test_find_one_applies_a_projection(self, store: ReadStore) -> None:
        users = store.collection("users")
        await users.insert_one({"_id": "u1", "name": "ann", "email": "a@example.com"})

        assert await users.find_one({"_id": "u1"}, {"email": 0}) == {"_id": "u1", "name": "ann"}
        assert await users.find_one({"_id": "u1"}, MappingProxyType({"name": 0})) == {
            "_id": "u1",
            "email": "a@example.com",
        }
        assert await users.find_one({"name": "ann"}, {"email": 1, "_id": 0}) == {
            "email": "a@example.com"
        }
        assert await users.find_one({"_id": "nobody"}) is None

    async def test_find_filters_sorts_skips_and_limits(self, store: ReadStore) -> None:
        tasks = store.collection("tasks")
        await tasks.insert_many([{"_id": n, "n": n, "open": n % 2 == 0} for n in range(7)])
        open_tasks = {"open": True}

        page = await tasks.find(open_tasks, sort=[("n", -1)], skip=1, limit=2)
        everything = await tasks.find(open_tasks, sort=[("n", 1)], limit=0)
        projected = await tasks.find(open_tasks, sort=[("n", 1)], projection={"_id": 1})

        assert ids(page) == [4, 2]
        assert ids(everything) == [0, 2, 4, 6]
        assert projected == [{"_id": 0}, {"_id": 2}, {"_id": 4}, {"_id": 6}]
        assert await tasks.count(open_tasks) == 4
        assert await tasks.count({}) == 7

    async def test_an_escaped_regex_matches_case_insensitively_and_literally(
        self, store: ReadStore
    ) -> None:
        tasks = store.collection("tasks")
        titles = ["Buy MILK", "fix (urgent) bug", "a.*b", "axxb"]
        await tasks.insert_many([{"_id": n, "title": title} for n, title in enumerate(titles)])

        async def titled(text: str) -> list[Any]:
            return ids(await tasks.find({"title": containing(text)}, sort=[("_id", 1)]))

        assert await titled("milk") == [0]
        assert await titled("(URGENT") == [1]
        assert await titled("a.*b") == [2]
        assert await titled("") == [0, 1, 2, 3]

    async def test_or_filters_match_either_branch(self, store: ReadStore) -> None:
        users = store.collection("users")
        await users.insert_many(
            [
                {"_id": 1, "name": "Ann", "email": "x@example.com"},
                {"_id": 2, "name": "Bob", "email": "ann@example.com"},
                {"_id": 3, "name": "Cid", "email": "c@example.com"},
            ]
        )

        found = await users.find(
            {"$or": [{"name": containing("ann")}, {"email": containing("ann")}]},
            sort=[("_id", 1)],
        )

        assert ids(found) == [1, 2]

    async def test_update_one_sets_increments_and_unsets(self, store: ReadStore) -> None:
        tasks = store.collection("tasks")
        await tasks.insert_one({"_id": "t", "title": "a", "comments": 1, "due": "2030-01-01"})

        changed = await tasks.update_one(
            {"_id": "t"}, {"$set": {"title": "b"}, "$inc": {"comments": 2}, "$unset": {"due": ""}}
        )
        missed = await tasks.update_one({"_id": "other"}, {"$set": {"title": "c"}})

        assert changed == UpdateResult(matched=1, modified=1, upserted=False)
        assert missed == UpdateResult(matched=0, modified=0, upserted=False)
        assert await tasks.find_one({"_id": "t"}) == {"_id": "t", "title": "b", "comments": 3}

    async def test_a_version_guarded_upsert_inserts_then_updates_older_documents(
        self, store: ReadStore
    ) -> None:
        tasks = store.collection("tasks")

        def at(version: int) -> tuple[dict[str, Any], dict[str, Any]]:
            return (
                {"_id": "t", "version": {"$lt": version}},
                {"$set": {"version": version, "title": f"v{version}"}},
            )

        inserted = await tasks.update_one(*at(1), upsert=True)
        updated = await tasks.update_one(*at(3), upsert=True)

        assert inserted == UpdateResult(matched=0, modified=0, upserted=True)
        assert updated == UpdateResult(matched=1, modified=1, upserted=False)
        assert await tasks.find_one({"_id": "t"}) == {"_id": "t", "version": 3, "title": "v3"}

    @pytest.mark.parametrize("stale", [3, 2], ids=["equal", "older"])
    async def test_a_version_guarded_upsert_refuses_a_stale_version(
        self, store: ReadStore, stale: int
    ) -> None:
        tasks = store.collection("tasks")
        await tasks.insert_one({"_id": "t", "version": 3, "title": "v3"})

        with pytest.raises(DuplicateKey):
            await tasks.update_one(
                {"_id": "t", "version": {"$lt": stale}},
                {"$set": {"version": stale, "title": "stale"}},
                upsert=True,
            )

        assert await tasks.find_one({"_id": "t"}) == {"_id": "t", "version": 3, "title": "v3"}

    async def test_insert_many_skips_taken_ids_and_counts_the_new(self, store: ReadStore) -> None:
        users = store.collection("users")
        await users.insert_one({"_id": 2, "name": "kept"})

        new = await users.insert_many(
            [{"_id": 1, "name": "a"}, {"_id": 2, "name": "b"}, {"_id": 3}, {"_id": 1}]
        )

        assert new == 2
        assert ids(await users.find({}, sort=[("_id", 1)])) == [1, 2, 3]
        assert await users.find_one({"_id": 2}) == {"_id": 2, "name": "kept"}
        assert await users.insert_many([]) == 0

    async def test_deletes_count_what_they_removed(self, store: ReadStore) -> None:
        tasks = store.collection("tasks")
        await tasks.insert_many([{"_id": n, "user": n % 2} for n in range(5)])

        assert await tasks.delete_one({"user": 1}) == 1
        assert await tasks.delete_one({"user": 7}) == 0
        assert await tasks.delete_many({"user": 0}) == 3
        assert ids(await tasks.find({})) == [3]

    async def test_aggregate_matches_groups_and_sorts(self, store: ReadStore) -> None:
        tasks = store.collection("tasks")
        rows = [
            ("ann", "open", 3),
            ("bob", "open", 1),
            ("ann", "done", 5),
            ("bob", "open", 4),
            ("cid", "open", 3),
        ]
        await tasks.insert_many(
            [{"user": user, "status": status, "points": points} for user, status, points in rows]
        )

        totals = await tasks.aggregate(
            [
                {"$match": {"status": "open"}},
                {"$group": {"_id": "$user", "tasks": {"$sum": 1}, "points": {"$sum": "$points"}}},
                {"$sort": {"points": -1, "_id": 1}},
            ]
        )

        assert totals == [
            {"_id": "bob", "tasks": 2, "points": 5},
            {"_id": "ann", "tasks": 1, "points": 3},
            {"_id": "cid", "tasks": 1, "points": 3},
        ]

    async def test_a_unique_index_clash_raises_unlike_a_taken_id(self, store: ReadStore) -> None:
        users = store.collection("users")
        await users.create_index([("email", 1)], unique=True)
        await users.insert_one({"_id": 1, "email": "a@example.com"})
        await users.insert_one({"_id": 2, "email": "b@example.com"})

        with pytest.raises(DuplicateKey):
            await users.insert_one({"_id": 3, "email": "a@example.com"})
        with pytest.raises(DuplicateKey):
            await users.update_one({"_id": 2}, {"$set": {"email": "a@example.com"}})
        with pytest.raises(DuplicateKey):
            await users.insert_many(
                [{"_id": 4, "email": "a@example.com"}, {"_id": 5, "email": "e@example.com"}]
            )

        assert ids(await users.find({}, sort=[("_id", 1)])) == [1, 2, 5]
        assert await users.find_one({"_id": 2}) == {"_id": 2, "email": "b@example.com"}

    async def test_rename_replaces_the_target_and_keeps_indexes(self, store: ReadStore) -> None:
        live, rebuilt = store.collection("users"), store.collection("users_rebuild")
        await live.insert_one({"_id": "stale"})
        await rebuilt.create_index([("email", 1)], unique=True)
        await rebuilt.insert_many([{"_id": 1, "email": "a"}, {"_id": 2, "email": "b"}])

        await store.rename("users_rebuild", "users")

        assert ids(await live.find({}, sort=[("_id", 1)])) == [1, 2]
        assert await store.collection_names() == ["users"]
        with pytest.raises(DuplicateKey):
            await live.insert_one({"_id": 3, "email": "a"})

    async def test_drop_removes_a_collection_from_the_names(self, store: ReadStore) -> None:
        await store.collection("users").insert_one({"_id": 1})
        await store.collection("tasks").insert_one({"_id": 1})

        await store.drop("users")
        await store.drop("never_created")

        assert await store.collection_names() == ["tasks"]
        assert await store.collection("users").count({}) == 0

    async def test_ping_answers(self, store: ReadStore) -> None:
        await store.ping()


def database_name() -> str:
    return f"contract_{uuid4().hex[:8]}"


class TestMemoryStore(StoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[ReadStore]:
        store = MemoryReadStore(database_name())
        yield store
        await store.close()


def docker_answers() -> bool:
    """Whether a Docker daemon answers now.

    docker-py leaks the socket of a refused connection: collecting it here, with its warning
    silenced, keeps it from failing whichever later test happens to run the collector.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            with closing(docker.from_env(timeout=2)) as client:
                client.ping()
        except (DockerException, OSError):
            return False
        finally:
            gc.collect()
    return True


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    if url := os.environ.get("TASKTRAIL_MONGO_URL"):
        yield url
    elif docker_answers():
        with MongoDbContainer("mongo:7") as container:
            yield container.get_connection_url()
    else:
        pytest.skip("no MongoDB: set TASKTRAIL_MONGO_URL or run Docker")


class TestMongoStore(StoreContract):
    @pytest.fixture
    async def store(self, mongo_url: str) -> AsyncIterator[ReadStore]:
        name = database_name()
        client: AsyncMongoClient[Document] = AsyncMongoClient(
            mongo_url, uuidRepresentation="standard"
        )
        yield MongoReadStore(client, name)
        await client.drop_database(name)
        await client.close()


_UNREACHABLE = """
import asyncio, time
from read_side.mongo import MongoReadStore
from read_side.store import StoreUnavailable

async def main() -> None:
    store = MongoReadStore.connect("mongodb://127.0.0.1:1/", "x", timeout_ms=300)
    timings = []
    for attempt in (store.ping, lambda: store.collection("users").find_one({"_id": 1})):
        started = time.monotonic()
        try:
            await attempt()
        except StoreUnavailable:
            timings.append(time.monotonic() - started)
    await store.close()
    print(" ".join(f"{t:.3f}" for t in timings))

asyncio.run(main())
"""


def test_an_unreachable_mongodb_is_unavailable_within_the_timeout() -> None:
    """Runs in a child process: PyMongo's async client keeps the socket of a refused
    connection open until the interpreter exits (a bounded two, not one per retry), and
    its ResourceWarning would otherwise fail whichever later test collects it."""
    child = subprocess.run(
        [sys.executable, "-c", _UNREACHABLE], capture_output=True, text=True, timeout=30,
        check=True,
    )  # fmt: skip
    timings = [float(t) for t in child.stdout.split()]

    assert len(timings) == 2, "both calls must raise StoreUnavailable"
    assert max(timings) < 1.5

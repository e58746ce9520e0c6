"""The read-store port's contract: every adapter must pass the same cases.

PostgreSQL is the tests' server (TASKTRAIL_TEST_POSTGRES_DSN, as in tests/conftest.py),
each test in a schema of its own.
MongoDB comes from TASKTRAIL_MONGO_URL or, where Docker runs, a mongo:7 container; with
neither, its cases are skipped.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import docker
import psycopg
import pytest
from docker.errors import DockerException
from psycopg import sql
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from testcontainers.community.mongodb import MongoDbContainer

from read_side.mongo import JOURNAL, REDO_AFTER, MongoReadStore, journal_entry
from read_side.postgres import PostgresReadStore
from read_side.store import (
    REV,
    Changes,
    Conflict,
    Criteria,
    Document,
    Field,
    ReadStore,
    Table,
)

POSTGRES_DSN = os.environ.get(
    "TASKTRAIL_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)

PEOPLE = Table(
    "people",
    fields=(Field("name"), Field("status"), Field("due"), Field("flag"), Field("age", "integer")),
    indexes=(("status", "name"), ("age",), ("due",)),
    search=("name", "email"),
)
CHECKPOINTS = Table("checkpoints")
LOG = Table("log")
TABLES = (PEOPLE, CHECKPOINTS, LOG)


def person(key: str, **fields: object) -> Document:
    return {"id": key, **fields}


async def keys_of(store: ReadStore, query: Criteria) -> list[str]:
    return [document["id"] for document in await store.find(PEOPLE, query)]


async def stored(store: ReadStore, *documents: Document) -> None:
    await store.commit(Changes(puts={PEOPLE: {d["id"]: d for d in documents}}))


class StoreContract:
    """Every case, run once per adapter by the subclasses' ``store`` fixtures, which
    create TABLES first."""

    async def test_get_and_get_many_find_present_keys_only(self, store: ReadStore) -> None:
        ann, bob = person("ann", name="Ann", tags=["a", 1], nested={"x": None}), person("bob")
        await stored(store, ann, bob)

        assert await store.get(PEOPLE, "ann") == ann
        assert await store.get(PEOPLE, "nobody") is None
        assert await store.get_many(PEOPLE, {"ann", "bob", "nobody"}) == {"ann": ann, "bob": bob}
        assert await store.get_many(PEOPLE, ["nobody"]) == {}
        assert await store.get_many(PEOPLE, []) == {}

    async def test_puts_replace_whole_documents_and_deletes_remove(self, store: ReadStore) -> None:
        await stored(store, person("ann", name="Ann", email="a@x"), person("bob"), person("cid"))

        await store.commit(
            Changes(puts={PEOPLE: {"ann": person("ann", name="Anna")}}, deletes={PEOPLE: {"bob"}})
        )

        assert await store.get(PEOPLE, "ann") == person("ann", name="Anna")
        assert await store.get_many(PEOPLE, ["ann", "bob", "cid"]) == {
            "ann": person("ann", name="Anna"),
            "cid": person("cid"),
        }

    async def test_inserts_keep_an_existing_document_untouched(self, store: ReadStore) -> None:
        await store.commit(Changes(inserts={LOG: {"e1": {"n": 1}}}))

        await store.commit(Changes(inserts={LOG: {"e1": {"n": 2}, "e2": {"n": 3}}}))

        assert await store.get_many(LOG, ["e1", "e2"]) == {"e1": {"n": 1}, "e2": {"n": 3}}

    async def test_an_expected_absence_lets_the_batch_write(self, store: ReadStore) -> None:
        checkpoint = {"position": 5, REV: 1}

        await store.commit(
            Changes(
                puts={CHECKPOINTS: {"p": checkpoint}, PEOPLE: {"ann": person("ann")}},
                expect={(CHECKPOINTS, "p"): 0},
            )
        )

        assert await store.get(CHECKPOINTS, "p") == checkpoint
        assert await store.get(PEOPLE, "ann") == person("ann")

    async def test_an_expected_absence_of_a_present_key_writes_nothing(
        self, store: ReadStore
    ) -> None:
        first = {"position": 5, REV: 1}
        await store.commit(Changes(puts={CHECKPOINTS: {"p": first}}))
        await stored(store, person("bob"))

        with pytest.raises(Conflict):
            await store.commit(self._batch({"position": 9, REV: 1}, expected=0))

        await self._assert_untouched(store, first)

    async def test_an_expected_revision_guards_the_whole_batch(self, store: ReadStore) -> None:
        first = {"position": 5, REV: 2}
        await store.commit(Changes(puts={CHECKPOINTS: {"p": first}}))
        await stored(store, person("bob"))

        for stale in (1, 3):
            with pytest.raises(Conflict):
                await store.commit(self._batch({"position": 9, REV: stale + 1}, expected=stale))
        await self._assert_untouched(store, first)

        await store.commit(self._batch({"position": 9, REV: 3}, expected=2))
        assert await store.get(CHECKPOINTS, "p") == {"position": 9, REV: 3}
        assert await store.get_many(PEOPLE, ["ann", "bob"]) == {"ann": person("ann")}
        assert await store.get(LOG, "e1") == {"n": 1}

    async def test_an_expected_revision_of_an_absent_key_is_a_conflict(
        self, store: ReadStore
    ) -> None:
        with pytest.raises(Conflict):
            await store.commit(self._batch({"position": 9, REV: 2}, expected=1))

        assert await store.get(CHECKPOINTS, "p") is None
        assert await store.get(PEOPLE, "ann") is None

    async def test_an_expected_key_without_its_put_is_refused(self, store: ReadStore) -> None:
        with pytest.raises(ValueError, match="needs its put"):
            await store.commit(
                Changes(puts={CHECKPOINTS: {"q": {"position": 1}}}, expect={(CHECKPOINTS, "p"): 0})
            )

        assert await store.get(CHECKPOINTS, "q") is None

    @staticmethod
    def _batch(checkpoint: Document, *, expected: int) -> Changes:
        return Changes(
            puts={CHECKPOINTS: {"p": checkpoint}, PEOPLE: {"ann": person("ann")}},
            deletes={PEOPLE: {"bob"}},
            inserts={LOG: {"e1": {"n": 1}}},
            expect={(CHECKPOINTS, "p"): expected},
        )

    @staticmethod
    async def _assert_untouched(store: ReadStore, checkpoint: Document) -> None:
        assert await store.get(CHECKPOINTS, "p") == checkpoint
        assert await store.get_many(PEOPLE, ["ann", "bob"]) == {"bob": person("bob")}
        assert await store.get(LOG, "e1") is None

    async def test_where_compares_text_integers_bools_and_none(self, store: ReadStore) -> None:
        await stored(
            store,
            person("a", status="open", age=30, flag=True),
            person("b", status="done", age=3, flag=False),
            person("c", status=None, age=30),
            person("d", name="open"),
        )

        assert await keys_of(store, Criteria(where={"status": "open"})) == ["a"]
        assert await keys_of(store, Criteria(where={"age": 30})) == ["a", "c"]
        assert await keys_of(store, Criteria(where={"age": "30"})) == ["a", "c"]  # as a number
        assert await keys_of(store, Criteria(where={"age": 30, "status": "open"})) == ["a"]
        assert await keys_of(store, Criteria(where={"status": None})) == ["c", "d"]
        assert await keys_of(store, Criteria(where={"flag": True})) == ["a"]
        assert await keys_of(store, Criteria(where={"flag": False})) == ["b"]
        assert await keys_of(store, Criteria(where={"status": "gone"})) == []

    async def test_below_takes_present_lesser_values_only(self, store: ReadStore) -> None:
        await stored(
            store,
            person("a", due="2024-01-01", age=2),
            person("b", due="2024-05-01", age=10),
            person("c", due=None, age=None),
            person("d"),
        )

        assert await keys_of(store, Criteria(below={"due": "2024-03-01"})) == ["a"]
        assert await keys_of(store, Criteria(below={"due": "2025"})) == ["a", "b"]
        assert await keys_of(store, Criteria(below={"age": 3})) == ["a"]  # numbers: 10 > 3
        assert await keys_of(store, Criteria(below={"age": 11})) == ["a", "b"]

    async def test_search_is_literal_and_case_insensitive_over_search_fields(
        self, store: ReadStore
    ) -> None:
        names = {"dot": "a.c", "abc": "abc", "pct": "50%", "500": "500", "low": "a_c"}
        await stored(store, *(person(key, name=name) for key, name in names.items()))
        await stored(
            store,
            person("n1", name="Ann Lee"),
            person("n2", name="Bo", email="bo+ANN@example"),
            person("n3", name="Cy", status="annual"),
            person("n4", email=None),
        )

        async def searched(text: str) -> list[str]:
            return await keys_of(store, Criteria(search=text))

        assert await searched(".") == ["dot"]
        assert await searched("%") == ["pct"]
        assert await searched("_") == ["low"]
        assert await searched("A.C") == ["dot"]
        assert await searched("aNn") == ["n1", "n2"]
        assert await searched("ann lee") == ["n1"]
        assert len(await searched("")) == 9  # no search at all

    async def test_text_orders_by_bytes_and_integers_by_value(self, store: ReadStore) -> None:
        await stored(
            store,
            person("k1", name="a", age=10),
            person("k2", name="B", age=2),
            person("k3", name="b", age=1),
            person("k4", name="\u00c4", age=-5),
        )

        by_name = await store.find(PEOPLE, Criteria(order=(("name", False),)))
        by_age = await store.find(PEOPLE, Criteria(order=(("age", False),)))

        assert [d["name"] for d in by_name] == ["B", "a", "b", "\u00c4"]
        assert [d["age"] for d in by_age] == [-5, 1, 2, 10]

    async def test_the_key_breaks_ties_in_the_last_direction(self, store: ReadStore) -> None:
        await stored(
            store,
            *(person(key, status="x", age=1) for key in ("a", "B", "c")),
            person("z", status="w", age=1),
        )

        assert await keys_of(store, Criteria()) == ["B", "a", "c", "z"]
        assert await keys_of(store, Criteria(order=(("status", False),))) == ["z", "B", "a", "c"]
        assert await keys_of(store, Criteria(order=(("status", True),))) == ["c", "a", "B", "z"]
        descending_last = Criteria(order=(("age", False), ("status", True)))
        assert await keys_of(store, descending_last) == ["c", "a", "B", "z"]
        ascending_last = Criteria(order=(("status", True), ("age", False)))
        assert await keys_of(store, ascending_last) == ["B", "a", "c", "z"]

    async def test_limit_and_offset_page_through_the_order(self, store: ReadStore) -> None:
        await stored(store, *(person(f"k{n}", age=n) for n in range(5)))

        def page(limit: int | None, offset: int) -> Criteria:
            return Criteria(order=(("age", True),), limit=limit, offset=offset)

        assert await keys_of(store, page(2, 0)) == ["k4", "k3"]
        assert await keys_of(store, page(2, 2)) == ["k2", "k1"]
        assert await keys_of(store, page(2, 4)) == ["k0"]
        assert await keys_of(store, page(2, 5)) == []
        assert await keys_of(store, page(None, 3)) == ["k1", "k0"]
        assert await keys_of(store, page(0, 0)) == []

    async def test_count_ignores_order_limit_and_offset(self, store: ReadStore) -> None:
        await stored(
            store,
            *(person(f"k{n}", status="open", age=n, name=f"Task {n}") for n in range(6)),
            person("other", status="done", age=0, name="Task x"),
        )

        paged = Criteria(where={"status": "open"}, order=(("age", True),), limit=2, offset=3)
        assert await store.count(PEOPLE, paged) == 6
        assert await store.count(PEOPLE, Criteria(below={"age": 2}, search="TASK")) == 3
        assert await store.count(PEOPLE, Criteria()) == 7
        assert await store.count(LOG, Criteria()) == 0

    async def test_an_undeclared_field_is_a_key_error(self, store: ReadStore) -> None:
        for query in (Criteria(where={"email": "a@x"}), Criteria(below={"undeclared": 1})):
            with pytest.raises(KeyError):
                await store.find(PEOPLE, query)
            with pytest.raises(KeyError):
                await store.count(PEOPLE, query)
        with pytest.raises(KeyError):
            await store.find(PEOPLE, Criteria(order=(("undeclared", False),)))
        with pytest.raises(KeyError):  # LOG has no search fields
            await store.count(LOG, Criteria(search="x"))

    async def test_scan_pages_in_key_order(self, store: ReadStore) -> None:
        keys = ["b", "10", "A", "a", "9", "B"]
        await stored(store, *(person(key) for key in keys))

        first = await store.scan(PEOPLE, limit=4)
        second = await store.scan(PEOPLE, after=first[-1][0], limit=4)

        assert first == [(key, person(key)) for key in ("10", "9", "A", "B")]
        assert second == [(key, person(key)) for key in ("a", "b")]
        assert await store.scan(PEOPLE, after="b") == []
        assert await store.scan(PEOPLE, after="9", limit=1) == [("A", person("A"))]

    async def test_create_is_idempotent_and_drop_removes_the_table(self, store: ReadStore) -> None:
        await stored(store, person("ann", status="open"))
        await store.create(TABLES)
        assert await store.get(PEOPLE, "ann") == person("ann", status="open")

        await store.drop([PEOPLE])
        await store.create([PEOPLE])

        assert await store.get(PEOPLE, "ann") is None
        assert await store.find(PEOPLE, Criteria(where={"status": "open"})) == []
        assert await store.count(PEOPLE, Criteria()) == 0

    async def test_a_thousand_puts_round_trip(self, store: ReadStore) -> None:
        documents = {f"k{n:04}": person(f"k{n:04}", age=n, name=f"n{n}") for n in range(1000)}

        await store.commit(Changes(puts={PEOPLE: documents}))

        assert await store.scan(PEOPLE, limit=1000) == list(documents.items())
        assert await store.get_many(PEOPLE, documents) == documents
        assert await store.count(PEOPLE, Criteria(below={"age": 500})) == 500

    async def test_ping_answers(self, store: ReadStore) -> None:
        await store.ping()


class TestPostgresStore(StoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[ReadStore]:
        schema = f"contract_{uuid4().hex[:8]}"
        store = await PostgresReadStore.connect(POSTGRES_DSN, schema=schema)
        try:
            await store.create(TABLES)
            yield store
        finally:
            await store.close()
            async with await psycopg.AsyncConnection.connect(POSTGRES_DSN, autocommit=True) as conn:
                await conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )


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


def abandoned(changes: Changes) -> dict[str, Any]:
    """The journal entry of a batch whose writer crashed REDO_AFTER ago."""
    return journal_entry(changes) | {"at": datetime.now(UTC) - REDO_AFTER}


class TestMongoStore(StoreContract):
    """With the cases of its journal, which no other adapter has: a crash is played by
    writing a batch's entry the way ``commit`` does first, and applying none of it."""

    @pytest.fixture
    async def database(self, mongo_url: str) -> AsyncIterator[AsyncDatabase[Document]]:
        client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_url)
        name = f"contract_{uuid4().hex[:8]}"
        try:
            yield client[name]
        finally:
            await client.drop_database(name)
            await client.close()

    @pytest.fixture
    async def store(self, database: AsyncDatabase[Document]) -> MongoReadStore:
        store = MongoReadStore(database.client, database.name)
        await store.create(TABLES)
        return store

    async def test_a_batch_a_crash_cut_short_is_applied_by_recover_and_the_next_commit(
        self, store: MongoReadStore, database: AsyncDatabase[Document]
    ) -> None:
        first = {"position": 5, REV: 2}
        await store.commit(Changes(puts={CHECKPOINTS: {"p": first}}))
        await stored(store, person("bob"))
        crashed = self._batch({"position": 9, REV: 3}, expected=2)
        crashed.puts[PEOPLE]["$a.b"] = person("$a.b")
        await database[JOURNAL].insert_one(abandoned(crashed))
        await self._assert_untouched(store, first)

        assert await store.recover() == 1
        assert await store.recover() == 0
        await self._assert_applied(store, {"position": 9, REV: 3})
        assert await store.get(PEOPLE, "$a.b") == person("$a.b")

        crashed = Changes(
            puts={CHECKPOINTS: {"p": {"position": 11, REV: 4}}, PEOPLE: {"cid": person("cid")}},
            expect={(CHECKPOINTS, "p"): 3},
        )
        await database[JOURNAL].insert_one(abandoned(crashed))
        await store.commit(  # computed on top of the crashed batch: holds only once it is in
            Changes(
                puts={CHECKPOINTS: {"p": {"position": 12, REV: 5}}}, expect={(CHECKPOINTS, "p"): 4}
            )
        )

        assert await store.get(CHECKPOINTS, "p") == {"position": 12, REV: 5}
        assert await store.get(PEOPLE, "cid") == person("cid")
        assert await store.recover() == 0

    async def test_a_recovered_batch_makes_a_commit_computed_before_it_a_conflict(
        self, store: MongoReadStore, database: AsyncDatabase[Document]
    ) -> None:
        first = {"position": 5, REV: 2}
        await store.commit(Changes(puts={CHECKPOINTS: {"p": first}}))
        await stored(store, person("bob"))
        crashed = self._batch({"position": 9, REV: 3}, expected=2)
        await database[JOURNAL].insert_one(abandoned(crashed))

        with pytest.raises(Conflict):
            await store.commit(
                Changes(
                    puts={
                        CHECKPOINTS: {"p": {"position": 7, REV: 3}},
                        PEOPLE: {"dan": person("dan")},
                    },
                    expect={(CHECKPOINTS, "p"): 2},
                )
            )

        await self._assert_applied(store, {"position": 9, REV: 3})
        assert await store.get(PEOPLE, "dan") is None
        assert await store.recover() == 0

    async def test_an_entry_left_after_its_whole_batch_is_applied_again_harmlessly(
        self, store: MongoReadStore, database: AsyncDatabase[Document]
    ) -> None:
        await store.commit(Changes(puts={CHECKPOINTS: {"p": {"position": 5, REV: 2}}}))
        applied = self._batch({"position": 9, REV: 3}, expected=2)
        await store.commit(applied)
        await database[JOURNAL].insert_one(abandoned(applied))  # its deletion was lost

        assert await store.recover() == 1  # the checkpoint is written whatever its revision
        await self._assert_applied(store, {"position": 9, REV: 3})

    @staticmethod
    async def _assert_applied(store: ReadStore, checkpoint: Document) -> None:
        """What ``_batch`` writes, over what ``_assert_untouched`` expects."""
        assert await store.get(CHECKPOINTS, "p") == checkpoint
        assert await store.get_many(PEOPLE, ["ann", "bob"]) == {"ann": person("ann")}
        assert await store.get(LOG, "e1") == {"n": 1}


_UNREACHABLE = """
import asyncio, time
from read_side.mongo import MongoReadStore
from read_side.store import StoreUnavailable, Table

async def main() -> None:
    store = MongoReadStore.connect("mongodb://127.0.0.1:1/", "x", timeout_ms=300)
    timings = []
    for attempt in (store.ping, lambda: store.get(Table("users"), "1")):
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

"""The in-process store's own update path, held to mongomock's answers.

MemoryCollection updates a document found by ``_id`` in place when it can
(``$set``/``$inc`` of top-level fields to plain values), and leaves everything else
to mongomock. Whatever the case, the result, the error and the stored documents
must be what mongomock alone gives, and lookups through the indexes must follow.
"""

from __future__ import annotations

import asyncio
import math
import re
from typing import Any

import mongomock
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from read_side.memory import MemoryReadStore
from read_side.mongo import translated_errors, update_result

FIELDS = st.sampled_from(["a", "b", "version", "_rev", "n"])
ODD_FIELDS = st.sampled_from(["x.y", "$bad", "", "_id"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=3)
)
STORED = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text("ab.", max_size=2), inner, max_size=2)
    ),
    max_leaves=4,
)
ODD_VALUES = (
    st.integers(2**63, 2**64)
    | st.just(math.nan)
    | st.tuples(st.integers())
    | st.datetimes()
    | st.just({"a\0": 1})  # BSON refuses NUL in a key
)
NUMBERS = st.integers(0, 2) | st.floats(-2, 2)
ODD_NUMBERS = st.booleans() | st.integers(2**63, 2**64) | st.none()


def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` nine times in ten: the updates projectors make, which take the fast path."""
    return st.sampled_from([usual] * 9 + [odd]).flatmap(lambda chosen: chosen)


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    values = mostly(NUMBERS, STORED | st.datetimes())
    document = {"_id": "d", **draw(st.dictionaries(FIELDS, values, max_size=4))}
    # a neighbour, whose values a unique index may then refuse to the updated document
    neighbour = {"_id": "e", "a": draw(st.integers(0, 2)), "b": draw(st.integers(0, 2))}
    ids = st.sampled_from(["other", {"$in": ["d"]}, {"$ne": "e"}])
    filter: dict[str, Any] = {"_id": draw(mostly(st.just("d"), ids))}
    if draw(st.booleans()):
        filter["version"] = {"$lt": draw(st.integers(-1, 5))}
    if draw(st.booleans()):
        filter["a"] = document.get("a") if draw(st.booleans()) else draw(STORED)
    operators = draw(
        st.lists(
            mostly(st.sampled_from(["$set", "$inc"]), st.just("$unset")), min_size=1, max_size=2
        )
    )
    update = {}
    for operator in operators:
        values = (
            mostly(NUMBERS, ODD_NUMBERS)
            if operator == "$inc"
            else mostly(NUMBERS | STORED, ODD_VALUES)
        )
        size = draw(mostly(st.just(1), st.just(0)))
        update[operator] = draw(
            st.dictionaries(mostly(FIELDS, ODD_FIELDS), values, min_size=size, max_size=3)
        )
    unique = draw(st.sampled_from([None, "a", "b"]))
    assume(unique is None or document.get(unique) != neighbour[unique])
    return {
        "stored": draw(mostly(st.just(True), st.just(False))),
        "document": document,
        "neighbour": neighbour,
        "filter": filter,
        "update": update,
        "upsert": draw(st.booleans()),
        "unique": unique,
    }


def outcome(call: Any) -> tuple[str, Any]:
    try:
        with translated_errors():
            return "ok", call()
    except Exception as error:
        return "error", type(error).__name__


async def ours(case: dict[str, Any]) -> tuple[tuple[str, Any], list[Any], list[Any]]:
    store = MemoryReadStore("ours")
    collection = store.collection("c")
    await collection.create_index([("a", 1)], unique=case["unique"] == "a")
    if case["unique"] == "b":
        await collection.create_index([("b", 1)], unique=True)
    await collection.insert_one(dict(case["neighbour"]))
    if case["stored"]:
        await collection.insert_one(dict(case["document"]))
    result: tuple[str, Any]
    try:
        result = (
            "ok",
            await collection.update_one(case["filter"], case["update"], upsert=case["upsert"]),
        )
    except Exception as error:
        result = ("error", type(error).__name__)
    everything = await collection.find({})
    found = [
        sorted(repr(d["_id"]) for d in await collection.find({"a": document.get("a")}))
        for document in everything
        if not isinstance(document.get("a"), dict | list)
    ]
    return result, everything, found


def theirs(case: dict[str, Any]) -> tuple[tuple[str, Any], list[Any], list[Any]]:
    collection: Any = mongomock.MongoClient()["theirs"]["c"]
    collection.create_index([("a", 1)], unique=case["unique"] == "a")
    if case["unique"] == "b":
        collection.create_index([("b", 1)], unique=True)
    collection.insert_one(dict(case["neighbour"]))
    if case["stored"]:
        collection.insert_one(dict(case["document"]))
    result = outcome(
        lambda: update_result(
            collection.update_one(case["filter"], case["update"], upsert=case["upsert"])
        )
    )
    everything = list(collection.find({}))
    found = [
        sorted(repr(d["_id"]) for d in collection.find({"a": document.get("a")}))
        for document in everything
        if not isinstance(document.get("a"), dict | list)
    ]
    return result, everything, found


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_update_one_answers_and_stores_what_mongomock_does(case: dict[str, Any]) -> None:
    expected = theirs(case)
    # repr: NaN equals itself there, and 1 and 1.0 differ, as they do in BSON; an upsert
    # may make an ObjectId, which differs run by run
    assert _anonymous(repr(asyncio.run(ours(case)))) == _anonymous(repr(expected))


def _anonymous(text: str) -> str:
    return re.sub(r"ObjectId\('[0-9a-f]+'\)", "ObjectId()", text)


def test_a_projectors_update_is_done_in_place() -> None:
    """Else the property above would hold trivially, everything falling to mongomock."""
    collection = MemoryReadStore("in_place").collection("tasks")
    asyncio.run(collection.insert_one({"_id": "t", "version": 1, "title": "a", "_rev": 1}))
    counts = {"todo": 1}

    done = collection._update_in_place(
        {"_id": "t", "version": {"$lt": 2}},
        {"$set": {"version": 2, "title": "b", "counts": counts}, "$inc": {"_rev": 1}},
        upsert=False,
    )
    counts["todo"] = 2  # the caller's, not the store's

    assert done is not None
    assert (done.matched, done.modified) == (1, 1)
    assert asyncio.run(collection.find_one({"_id": "t"})) == {
        "_id": "t",
        "version": 2,
        "title": "b",
        "_rev": 2,
        "counts": {"todo": 1},
    }

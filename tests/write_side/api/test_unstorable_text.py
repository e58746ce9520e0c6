"""Strings the stores cannot hold are refused at the API, naming where they are.

PostgreSQL's jsonb holds no NUL (U+0000) in a string or a key, and no JSON encoder
writes a lone surrogate (U+D800..U+DFFF): accepted, either would fail later in a
projector. Bodies are sent as raw bytes, so that the JSON escapes reach the server
exactly as written here (httpx would encode a Python string differently).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import orjson
import pytest
from pydantic import ValidationError

import write_side.api.schemas  # noqa: F401 - defines the request bodies
from tests.support.http import is_problem
from tests.write_side.api.given import a_user, new_user_body
from write_side.api.storable import StorableInput
from write_side.bootstrap import WriteSide

USERS = "/api/v1/users"
TASKS = "/api/v1/tasks"
EVENTS = "/api/v1/analytics/events"
LOGIN = "/api/v1/auth/token"
JSON = {"content-type": "application/json"}
NUL = "U+0000"
LONE = "surrogate"
NUL_PROBES = ["\x00", "a\x00b", "Aa1-" * 4 + "\x00"]
"""Strings holding NUL that the document's patterns, length bounds included, would
otherwise match."""


def _base(path: str) -> dict[str, Any]:
    """A valid body for ``path``, without the members each case adds."""
    if path == USERS:
        return {k: v for k, v in new_user_body().items() if k != "full_name"}
    if path == EVENTS:
        return {"event_type": "click", "event_name": "n"}
    return {}


def _body(path: str, members: str) -> bytes:
    """The base body with ``members``, raw JSON text, appended to it."""
    base = orjson.dumps(_base(path))
    return (base[:-1] + b"," if base != b"{}" else b"{") + members.encode() + b"}"


CASES = [
    pytest.param(USERS, r'"full_name":"a\u0000b"', ["body", "full_name"], NUL, id="nul-name"),
    pytest.param(USERS, r'"full_name":"a\ud800b"', ["body", "full_name"], LONE, id="lone-name"),
    pytest.param(USERS, r'"bio":"\udfff"', ["body", "bio"], LONE, id="lone-low-bio"),
    pytest.param(USERS, r'"a\u0000":1', ["body", "a\x00"], NUL, id="nul-unknown-field"),
    pytest.param(
        EVENTS, r'"properties":{"a\u0000b":1}', ["body", "properties", "a\x00b"], NUL, id="nul-key"
    ),
    pytest.param(
        EVENTS,
        r'"properties":{"a":{"b":[null,"x\u0000"]}}',
        ["body", "properties", "a", "b", 1],
        NUL,
        id="nul-nested-value",
    ),
    pytest.param(
        EVENTS,
        r'"properties":{"a":[{"\u0000":true}]}',
        ["body", "properties", "a", 0, "\x00"],
        NUL,
        id="nul-nested-key",
    ),
    pytest.param(
        EVENTS,
        r'"properties":{"a\ud800b":1}',
        ["body", "properties", "a\ufffdb"],  # a loc cannot hold it either: U+FFFD stands in
        LONE,
        id="lone-key",
    ),
    pytest.param(
        EVENTS, r'"properties":{"a":"\udc00"}', ["body", "properties", "a"], LONE, id="lone-value"
    ),
    pytest.param(EVENTS, r'"category":"\u0000"', ["body", "category"], NUL, id="nul-category"),
    pytest.param(
        EVENTS, r'"source_service":"s\u0000"', ["body", "source_service"], NUL, id="nul-src"
    ),
    pytest.param(TASKS, r'"title":"t\u0000"', ["body", "title"], NUL, id="nul-title"),
    pytest.param(
        TASKS, r'"title":"t","description":"\u0000"', ["body", "description"], NUL, id="nul-desc"
    ),
    pytest.param(
        LOGIN, r'"username":"ada\u0000","password":"x"', ["body", "username"], NUL, id="nul-login"
    ),
]


def _assert_refused(response: httpx.Response, loc: list[str | int], character: str) -> None:
    assert is_problem(response, 422), response.text
    problem = response.json()
    assert problem["type"] == "urn:tasktrail:problem:invalid-request"
    assert [error["loc"] for error in problem["errors"]] == [loc]
    assert character in problem["errors"][0]["msg"]


@pytest.mark.parametrize(("path", "members", "loc", "character"), CASES)
async def test_a_string_the_stores_cannot_hold_is_a_422_naming_where_it_is(
    commands: httpx.AsyncClient,
    write_side: WriteSide,
    path: str,
    members: str,
    loc: list[str | int],
    character: str,
) -> None:
    head = write_side.store.head()

    response = await commands.post(path, content=_body(path, members), headers=JSON)

    _assert_refused(response, loc, character)
    assert write_side.store.head() == head


async def test_an_update_holding_nul_is_refused(
    commands: httpx.AsyncClient, write_side: WriteSide
) -> None:
    user = await a_user(commands)
    head = write_side.store.head()

    response = await commands.patch(
        f"{USERS}/{user['id']}", content=rb'{"bio":"a\u0000b"}', headers=JSON
    )

    _assert_refused(response, ["body", "bio"], NUL)
    assert write_side.store.head() == head


async def test_a_surrogate_pair_is_a_character_like_any_other(commands: httpx.AsyncClient) -> None:
    """U+1F600, escaped as its UTF-16 pair: the pair is fine, only a lone half is not."""
    user = await commands.post(
        USERS, content=_body(USERS, r'"full_name":"\ud83d\ude00"'), headers=JSON
    )
    tracked = await commands.post(
        EVENTS,
        content=_body(EVENTS, r'"properties":{"\ud83d\ude00":["\ud83d\ude00"]}'),
        headers=JSON,
    )

    assert user.status_code == 201, user.text
    assert user.json()["full_name"] == "\U0001f600"
    assert tracked.status_code == 201, tracked.text
    assert tracked.json()["properties"] == {"\U0001f600": ["\U0001f600"]}


async def test_a_request_id_holding_nul_is_not_the_correlation_id(
    commands: httpx.AsyncClient, write_side: WriteSide
) -> None:
    response = await commands.post(
        USERS, json=new_user_body(), headers={"X-Request-ID": "req\x00-1"}
    )

    assert response.status_code == 201, response.text
    [registered] = write_side.store.load(UUID(response.json()["id"]))
    assert registered.correlation_id == response.headers["x-request-id"] != "req\x00-1"


async def test_an_idempotency_key_holding_nul_is_refused(
    commands: httpx.AsyncClient, write_side: WriteSide
) -> None:
    head = write_side.store.head()

    response = await commands.post(
        USERS, json=new_user_body(), headers={"Idempotency-Key": "key\x00-1"}
    )

    assert is_problem(response, 422)
    assert write_side.store.head() == head


def _bodies(model: type[StorableInput] = StorableInput) -> Iterator[type[StorableInput]]:
    for subclass in model.__subclasses__():
        yield subclass
        yield from _bodies(subclass)


@pytest.mark.parametrize("body", list(_bodies()), ids=lambda body: body.__name__)
def test_every_request_body_checks_its_strings(body: type[StorableInput]) -> None:
    """A validator of the same name in a subclass would silently replace the check."""
    with pytest.raises(ValidationError) as raised:
        body.model_validate({"\x00": None})

    assert [error["type"] for error in raised.value.errors()] == ["string_unstorable"]


def _inputs(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema of a parameter or a JSON request body, named by where it is."""
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                yield f"{where} {parameter['name']}", parameter["schema"]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                yield f"{where} body", body["schema"]


def _unguarded(document: dict[str, Any], where: str, schema: Any) -> Iterator[str]:
    """Where a string or an object key may hold NUL by ``schema``, nested ones included."""
    seen: set[str] = set()
    pending = [(where, schema)]
    while pending:
        where, schema = pending.pop()
        if not isinstance(schema, dict):
            continue
        if "$ref" in schema:
            if schema["$ref"] not in seen:
                seen.add(schema["$ref"])
                name = schema["$ref"].rpartition("/")[2]
                pending.append((name, document["components"]["schemas"][name]))
            continue
        if schema.get("type") == "string" and not _refuses_nul(schema):
            yield where
        free_form = schema.get("additionalProperties", True) is not False
        keys = schema.get("propertyNames", {})
        if schema.get("type") == "object" and free_form and not _refuses_nul(keys):
            yield f"{where} (keys)"
        for key in ("anyOf", "oneOf", "allOf"):
            pending.extend((f"{where} {key}", branch) for branch in schema.get(key, []))
        for name, member in schema.get("properties", {}).items():
            pending.append((f"{where}.{name}", member))
        pending.append((f"{where}[]", schema.get("items")))
        pending.append((f"{where}{{}}", schema.get("additionalProperties")))


def _refuses_nul(schema: dict[str, Any]) -> bool:
    """By a pattern, or by a format or enum whose values hold none."""
    if "enum" in schema or schema.get("format") in {"uuid", "date", "email"}:
        return True
    pattern = schema.get("pattern")
    return pattern is not None and not any(re.search(pattern, probe) for probe in NUL_PROBES)


async def test_the_document_says_no_input_string_or_key_holds_nul(
    commands: httpx.AsyncClient,
) -> None:
    """How schemathesis learns not to send NUL in a string it means to be valid."""
    document = (await commands.get("/openapi.json")).json()

    unguarded = [
        found
        for where, schema in _inputs(document)
        for found in _unguarded(document, where, schema)
    ]

    assert unguarded == []

"""Hostile and malformed input to the command API: every answer is a 4xx problem.

Oversized bodies by length and by stream are in test_http_edges.py; this module
covers what fits under the limit but must still be refused without a 500.
"""

from __future__ import annotations

import uuid

import httpx
import orjson
import pytest

from tests.support.http import is_problem
from tests.write_side.api.given import a_user, new_user_body

USERS = "/api/v1/users"
EVENTS = "/api/v1/analytics/events"
JSON = {"content-type": "application/json"}
DEPTH = 10_000


def _nested_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _nested_objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def _event(properties: bytes) -> bytes:
    return b'{"event_type":"click","event_name":"deep","properties":' + properties + b"}"


def _refused(response: httpx.Response, *statuses: int) -> bool:
    return any(is_problem(response, status) for status in statuses)


@pytest.mark.parametrize("body", [_nested_arrays(DEPTH), _nested_objects(DEPTH)], ids=["[[", "{a:"])
async def test_a_deeply_nested_body_is_refused(commands: httpx.AsyncClient, body: bytes) -> None:
    response = await commands.post(USERS, content=body, headers=JSON)

    assert _refused(response, 400, 413, 422), response.text


@pytest.mark.parametrize("depth", [300, DEPTH])
async def test_deeply_nested_properties_are_refused(
    commands: httpx.AsyncClient, depth: int
) -> None:
    """300 levels parse, but are deeper than the event codec can write."""
    response = await commands.post(EVENTS, content=_event(_nested_objects(depth)), headers=JSON)

    assert _refused(response, 400, 413, 422), response.text


async def test_properties_nested_within_the_codecs_reach_are_accepted(
    commands: httpx.AsyncClient,
) -> None:
    response = await commands.post(EVENTS, content=_event(_nested_objects(50)), headers=JSON)

    assert response.status_code == 201, response.text


@pytest.mark.parametrize("number", ["-13790242373771075584", "9007199254740992", "1e20", "NaN"])
async def test_numbers_beyond_what_json_holds_exactly_are_refused_wherever_they_nest(
    commands: httpx.AsyncClient, number: str
) -> None:
    """Found by schemathesis: the document allows any JSON number unless it says otherwise."""
    properties = b'{"a":{"b":[null,' + number.encode() + b"]}}"

    response = await commands.post(EVENTS, content=_event(properties), headers=JSON)

    assert is_problem(response, 422), response.text
    assert "2⁵³" in response.text or "64-bit" in response.text


async def test_numbers_at_the_bounds_are_accepted(commands: httpx.AsyncClient) -> None:
    properties = b'{"low":-9007199254740991,"high":9007199254740991,"f":-1.5e15}'

    response = await commands.post(EVENTS, content=_event(properties), headers=JSON)

    assert response.status_code == 201, response.text


async def test_the_document_bounds_property_numbers(commands: httpx.AsyncClient) -> None:
    schema = (await commands.get("/openapi.json")).json()
    value = schema["components"]["schemas"]["PropertyValue"]["anyOf"]
    numbers = [branch for branch in value if branch.get("type") in ("integer", "number")]

    assert numbers
    assert all(branch["maximum"] == 2**53 - 1 for branch in numbers)


async def test_properties_with_many_keys_are_refused(commands: httpx.AsyncClient) -> None:
    properties = {f"k{i}": i for i in range(20_000)}  # ~250 kB: under the body limit
    body = {"event_type": "click", "event_name": "wide", "properties": properties}

    response = await commands.post(EVENTS, json=body)

    assert is_problem(response, 422)
    assert response.json()["errors"][0]["loc"] == ["body", "properties"]


async def test_a_body_with_many_keys_is_refused(commands: httpx.AsyncClient) -> None:
    body = new_user_body() | {f"k{i}": i for i in range(50_000)}

    response = await commands.post(USERS, content=orjson.dumps(body), headers=JSON)

    assert _refused(response, 413, 422)


async def test_a_body_that_is_not_utf8_is_a_problem(commands: httpx.AsyncClient) -> None:
    body = b'{"email": "\xff\xfe@example.com", "username": "\xc3\x28", "password": "x"}'

    response = await commands.post(USERS, content=body, headers=JSON)

    assert _refused(response, 400, 422), response.text


@pytest.mark.parametrize(
    "headers",
    [{"content-type": "application/x-www-form-urlencoded"}, {}],
    ids=["form", "missing"],
)
async def test_a_body_that_is_not_declared_json_is_refused(
    commands: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = orjson.dumps(new_user_body())

    response = await commands.post(USERS, content=body, headers=headers)

    assert _refused(response, 415, 422), response.text


async def test_unknown_fields_are_refused(commands: httpx.AsyncClient) -> None:
    response = await commands.post(USERS, json=new_user_body(role="admin"))

    assert is_problem(response, 422)
    assert response.json()["errors"][0]["loc"] == ["body", "role"]


@pytest.mark.parametrize(
    "segment", ["not-a-uuid", "1", "é" * 10, "x" * 10_000, "%00", "..%2F..%2Fetc"]
)
async def test_ids_that_are_not_uuids_are_refused(
    commands: httpx.AsyncClient, segment: str
) -> None:
    response = await commands.patch(f"{USERS}/{segment}", json={"bio": "b"})

    assert _refused(response, 404, 422), response.text


async def test_a_non_uuid_id_is_a_422_naming_the_path(commands: httpx.AsyncClient) -> None:
    response = await commands.post(f"/api/v1/tasks/{'ü' * 40}/complete")

    assert is_problem(response, 422)
    assert response.json()["errors"][0]["loc"] == ["path", "task_id"]


async def test_a_405_allows_every_method_of_its_path(commands: httpx.AsyncClient) -> None:
    """Regression: the Allow header named only the first route's method (PATCH)."""
    user = await a_user(commands)

    response = await commands.put(f"{USERS}/{user['id']}", json={})

    assert is_problem(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"PATCH", "DELETE"}


async def test_an_unknown_user_id_is_a_404(commands: httpx.AsyncClient) -> None:
    response = await commands.patch(f"{USERS}/{uuid.uuid4()}", json={"bio": "b"})

    assert is_problem(response, 404)


@pytest.mark.parametrize("blank", ["\f", "\x1c", "\x85", "\ufeff", " \t "])
async def test_a_label_of_whitespace_alone_is_a_422_the_document_predicts(
    commands: httpx.AsyncClient, blank: str
) -> None:
    """Found by schemathesis: "\\f" met the documented minLength, then stripping left ""."""
    schema = (await commands.get("/openapi.json")).json()
    label = schema["components"]["schemas"]["ActivityCreate"]["properties"]["event_type"]
    body = {"event_type": blank, "event_name": "click"}

    response = await commands.post("/api/v1/analytics/events", json=body)

    assert is_problem(response, 422)
    assert "pattern" in label

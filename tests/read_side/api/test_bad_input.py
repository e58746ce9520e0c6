"""Hostile and malformed input to the query API: refused as a 422 problem, or
matched literally, never passed to the read store as an operator."""

from __future__ import annotations

import time

import pytest

from tests.conftest import System
from tests.support.http import API, after, command, is_problem
from tests.write_side.api.given import new_user_body, unique

HOSTILE_SEARCHES = ['{"$where": "sleep(1000)"}', ".*", "^", "(a+)+$", "$regex", "\\", "[", "ü名🙂"]


@pytest.mark.parametrize(
    "query",
    ["limit=1000000000000", "limit=-1", "limit=0", "offset=-1", f"offset={10**30}", "limit=x"],
)
@pytest.mark.parametrize("path", ["/users", "/tasks"])
async def test_paging_out_of_bounds_is_a_422(system: System, path: str, query: str) -> None:
    response = await system.api.get(f"{API}{path}?{query}")

    assert is_problem(response, 422), response.text


@pytest.mark.parametrize(
    "query",
    ["status[$ne]=x", "user_id[$gt]=", "$where=1", "status=active&role[$ne]=admin", "=x"],
)
@pytest.mark.parametrize("path", ["/users", "/tasks"])
async def test_operator_shaped_parameters_are_refused(
    system: System, path: str, query: str
) -> None:
    response = await system.api.get(f"{API}{path}?{query}")

    assert is_problem(response, 422), response.text
    assert response.json()["errors"][0]["type"] == "extra_forbidden"


async def test_an_operator_as_a_filter_value_is_refused(system: System) -> None:
    response = await system.api.get(f"{API}/tasks", params={"status": '{"$ne": "todo"}'})

    assert is_problem(response, 422)


async def test_search_matches_hostile_strings_literally(system: System) -> None:
    """Each hostile string is in one user's name; searching for it finds that user,
    and every user it finds has it literally in a searched field."""
    tag = unique("t")
    others = await command(system.api, "POST", "/users", json=new_user_body(full_name=tag))
    holders = {}
    last = others
    for text in HOSTILE_SEARCHES:
        last = await command(
            system.api, "POST", "/users", json=new_user_body(full_name=f"{tag} {text} end")
        )
        holders[text] = last.json()["id"]

    for text, holder in holders.items():
        started = time.perf_counter()
        response = await system.api.get(
            f"{API}/users", params={"search": text, "limit": 100}, headers=after(last)
        )

        assert response.status_code == 200, (text, response.text)
        assert time.perf_counter() - started < 2
        found = response.json()["items"]
        assert holder in {user["id"] for user in found}, text
        assert others.json()["id"] not in {user["id"] for user in found}, text
        for user in found:
            fields = [user["username"], user["email"], user["full_name"] or ""]
            assert any(text.casefold() in field.casefold() for field in fields), (text, user)


async def test_search_dot_star_does_not_match_everyone(system: System) -> None:
    plain = await command(system.api, "POST", "/users", json=new_user_body(full_name="Plain"))

    response = await system.api.get(
        f"{API}/users", params={"search": ".*", "limit": 100}, headers=after(plain)
    )

    assert response.status_code == 200
    assert plain.json()["id"] not in {user["id"] for user in response.json()["items"]}


async def test_an_overlong_search_is_a_422(system: System) -> None:
    response = await system.api.get(f"{API}/users", params={"search": "a" * 101})

    assert is_problem(response, 422)


@pytest.mark.parametrize(
    "path",
    [
        "/users/not-a-uuid",
        "/tasks/1",
        "/users/123/tasks",
        f"/audit/{'é' * 36}",
        f"/analytics/events/user/{'x' * 10_000}",
        "/analytics/summary/user/%00",
    ],
)
async def test_ids_that_are_not_uuids_are_a_422(system: System, path: str) -> None:
    response = await system.api.get(f"{API}{path}")

    assert is_problem(response, 422), response.text


@pytest.mark.parametrize("username", ["名前🙂", "x" * 10_000, "..%2F..", "%24where", "a b"])
async def test_odd_usernames_are_not_found_not_errors(system: System, username: str) -> None:
    response = await system.api.get(f"{API}/users/by-username/{username}")

    assert is_problem(response, 404), response.text


async def test_an_email_that_is_an_object_is_a_422(system: System) -> None:
    response = await system.api.get(f"{API}/users/by-email", params={"email": '{"$ne": null}'})

    assert is_problem(response, 422)

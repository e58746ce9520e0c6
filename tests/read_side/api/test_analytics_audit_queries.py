"""Queries of analytics and of the audit trail, with state made only through commands."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
import pytest

from tests.conftest import System
from tests.support.http import API, after, command, is_problem
from tests.write_side.api.given import new_user_body


async def track(api: httpx.AsyncClient, user_id: str, name: str) -> httpx.Response:
    body = {"event_type": "ui", "event_name": name, "user_id": user_id, "properties": {"k": name}}
    return await command(api, "POST", "/analytics/events", json=body)


async def test_events_of_a_user_come_newest_first_in_pages(system: System) -> None:
    api = system.api
    uid = (await command(api, "POST", "/users", json=new_user_body())).json()["id"]
    tracked = [await track(api, uid, name) for name in ("first", "second", "third")]
    path = f"{API}/analytics/events/user/{uid}"

    whole = await api.get(path, headers=after(tracked[-1]))
    first, second = [(await api.get(path, params={"limit": 3, "offset": o})).json() for o in (0, 3)]

    items = whole.json()["items"]
    assert [e["event_name"] for e in items] == ["third", "second", "first", "user.registered"]
    assert [e["timestamp"] for e in items] == sorted((e["timestamp"] for e in items), reverse=True)
    assert items[0]["properties"] == {"k": "third"}
    assert all(e["user_id"] == uid and not any(k.startswith("_") for k in e) for e in items)
    assert [e["id"] for e in first["items"] + second["items"]] == [e["id"] for e in items]
    assert (first["total"], first["has_next"], first["has_prev"]) == (4, True, False)
    assert (second["total"], second["has_next"], second["has_prev"]) == (4, False, True)


async def test_a_tracked_event_is_listed_as_the_command_answered_it(system: System) -> None:
    """The 201 of POST /analytics/events and the listed event describe one fact: same fields,
    including the id, so a client finds the event it tracked by the id it was given."""
    api = system.api
    uid = (await command(api, "POST", "/users", json=new_user_body())).json()["id"]
    tracked = await track(api, uid, "clicked")

    listed = await api.get(
        f"{API}/analytics/events/user/{uid}", params={"limit": 1}, headers=after(tracked)
    )

    [item] = listed.json()["items"]
    answered = tracked.json()
    assert item["event_name"] == "clicked"
    assert datetime.fromisoformat(item["timestamp"]) == datetime.fromisoformat(
        answered["timestamp"]
    )
    same = ("event_type", "event_name", "category", "user_id", "properties", "source_service")
    assert {k: item[k] for k in same} == {k: answered[k] for k in same}
    assert item["id"] == answered["id"]


async def test_the_summary_of_a_user(system: System) -> None:
    api = system.api
    uid = (await command(api, "POST", "/users", json=new_user_body())).json()["id"]
    tracked = [await track(api, uid, name) for name in ("open", "open")]

    summary = await api.get(f"{API}/analytics/summary/user/{uid}", headers=after(tracked[-1]))
    unknown = await api.get(f"{API}/analytics/summary/user/{uuid.uuid4()}")
    malformed = await api.get(f"{API}/analytics/summary/user/nope")

    assert summary.status_code == 200
    assert summary.json()["total_events"] == 3
    assert summary.json()["by_type"] == {"domain": 1, "ui": 2}
    assert summary.json()["top_events"][0] == {"event_name": "open", "count": 2}
    assert is_problem(unknown, 404)
    assert is_problem(malformed, 422)


async def test_the_audit_trail_is_oldest_first_in_pages(system: System) -> None:
    api = system.api
    registered = await command(api, "POST", "/users", json=new_user_body())
    uid = registered.json()["id"]
    for bio in ("one", "two"):
        await command(api, "PATCH", f"/users/{uid}", json={"bio": bio})
    last = await command(api, "POST", f"/users/{uid}/deactivate")
    path = f"{API}/audit/{uid}"

    whole = (await api.get(path, headers=after(last))).json()
    first, second = [(await api.get(path, params={"limit": 3, "offset": o})).json() for o in (0, 3)]

    assert [e["stream_version"] for e in whole["items"]] == [1, 2, 3, 4]
    assert [e["type"] for e in whole["items"]] == [
        "user.registered",
        "user.profile_changed",
        "user.profile_changed",
        "user.deactivated",
    ]
    assert [e["changes"].get("bio") for e in whole["items"][1:3]] == ["one", "two"]
    positions = [e["position"] for e in whole["items"]]
    assert positions == sorted(positions)
    assert positions[-1] == int(last.headers["x-event-position"])
    assert all(e["stream_id"] == uid for e in whole["items"])
    assert [e["stream_version"] for e in first["items"] + second["items"]] == [1, 2, 3, 4]
    assert (first["total"], first["has_next"], first["has_prev"]) == (4, True, False)
    assert (second["total"], second["has_next"], second["has_prev"]) == (4, False, True)


async def test_the_audit_trail_of_a_task(system: System) -> None:
    api = system.api
    uid = (await command(api, "POST", "/users", json=new_user_body())).json()["id"]
    created = await command(api, "POST", "/tasks", json={"user_id": uid, "title": "t"})
    tid = created.json()["id"]
    await command(api, "PATCH", f"/tasks/{tid}", json={"title": "renamed"})
    deleted = await command(api, "DELETE", f"/tasks/{tid}")

    trail = (await api.get(f"{API}/audit/{tid}", headers=after(deleted))).json()

    assert [(e["stream_version"], e["type"]) for e in trail["items"]] == [
        (1, "task.created"),
        (2, "task.details_changed"),
        (3, "task.deleted"),
    ]


@pytest.mark.parametrize(("stream_id", "status"), [(str(uuid.uuid4()), 404), ("nope", 422)])
async def test_an_unknown_or_malformed_stream(system: System, stream_id: str, status: int) -> None:
    response = await system.api.get(f"{API}/audit/{stream_id}")

    assert is_problem(response, status)

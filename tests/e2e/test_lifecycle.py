"""The seed lifecycle, end to end over HTTP, through the relay and every projector."""

from __future__ import annotations

from tests.conftest import System
from tests.support.http import API, after, command
from tests.write_side.api.given import new_user_body


async def test_the_seed_lifecycle(system: System) -> None:
    api = system.api
    registered = await command(api, "POST", "/users", json=new_user_body(full_name="Grace Hopper"))
    user = registered.json()
    uid = user["id"]

    read = await api.get(f"{API}/users/{uid}", headers=after(registered))
    assert read.status_code == 200
    assert int(read.headers["x-read-position"]) >= int(registered.headers["x-event-position"])
    assert read.json() | {"task_counts": None} == user | {"task_counts": None}

    updated = await command(api, "PATCH", f"/users/{uid}", json={"bio": "Admiral"})
    assert (await api.get(f"{API}/users/{uid}", headers=after(updated))).json()["bio"] == "Admiral"

    created = [
        (
            await command(api, "POST", "/tasks", json={"user_id": uid, "title": t, "priority": p})
        ).json()
        for t, p in (("compile", "high"), ("debug", "urgent"), ("document", "low"))
    ]
    completed = await command(api, "POST", f"/tasks/{created[0]['id']}/complete")

    listed = await api.get(f"{API}/users/{uid}/tasks", headers=after(completed))
    assert listed.json()["total"] == 3
    urgent = await api.get(f"{API}/tasks", params={"user_id": uid, "priority": "urgent"})
    assert [t["title"] for t in urgent.json()["items"]] == ["debug"]
    done = await api.get(f"{API}/tasks", params={"user_id": uid, "status": "done"})
    assert [t["id"] for t in done.json()["items"]] == [created[0]["id"]]
    counts = (await api.get(f"{API}/users/{uid}", headers=after(completed))).json()["task_counts"]
    assert counts == {"todo": 2, "in_progress": 0, "done": 1, "cancelled": 0, "total": 3}

    for name in ("login", "view_dashboard", "view_dashboard"):
        tracked = await command(
            api,
            "POST",
            "/analytics/events",
            json={"event_type": "ui", "event_name": name, "user_id": uid, "properties": {"n": 1}},
        )
    summary = (await api.get(f"{API}/analytics/summary/user/{uid}", headers=after(tracked))).json()
    assert summary["total_events"] == 1 + 1 + 3 + 1 + 3  # registered, patched, tasks, done, ui
    assert summary["top_events"][0] == {"event_name": "task.created", "count": 3}
    assert {"event_name": "view_dashboard", "count": 2} in summary["top_events"]
    assert summary["by_type"] == {"domain": 6, "ui": 3}

    deleted = await command(api, "DELETE", f"/users/{uid}")
    gone = await api.get(f"{API}/users/{uid}", headers=after(deleted))
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    search = await api.get(f"{API}/users", params={"search": user["username"]})
    assert search.json()["total"] == 0

    kept = await api.get(f"{API}/analytics/events/user/{uid}", headers=after(deleted))
    assert kept.json()["total"] == 10  # the deletion is itself recorded
    audit = (await api.get(f"{API}/audit/{uid}", headers=after(deleted))).json()
    assert [e["type"] for e in audit["items"]] == [
        "user.registered",
        "user.profile_changed",
        "user.deleted",
    ]
    assert [e["stream_version"] for e in audit["items"]] == [1, 2, 3]
    assert audit["items"][0]["correlation_id"] == registered.headers["x-request-id"]
    assert "password_hash" not in audit["items"][0]["changes"]

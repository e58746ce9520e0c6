from __future__ import annotations

import httpx

from tests.write_side.api.given import a_user

EVENTS = "/api/v1/analytics/events"


async def test_tracking_stores_an_event(commands: httpx.AsyncClient) -> None:
    user = await a_user(commands)
    body = {
        "event_type": "page_view",
        "event_name": "dashboard",
        "category": "web",
        "user_id": user["id"],
        "properties": {"path": "/dash", "ms": 12},
        "source_service": "frontend",
    }

    response = await commands.post(EVENTS, json=body)

    assert response.status_code == 201
    tracked = response.json()
    assert {k: tracked[k] for k in body} == body
    assert tracked["id"]
    assert tracked["timestamp"]
    assert int(response.headers["x-event-position"]) > 0


async def test_properties_over_16_kib_are_422(commands: httpx.AsyncClient) -> None:
    body = {"event_type": "t", "event_name": "n", "properties": {"blob": "x" * 17_000}}

    response = await commands.post(EVENTS, json=body)

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "properties"]


async def test_properties_must_be_an_object(commands: httpx.AsyncClient) -> None:
    response = await commands.post(
        EVENTS, json={"event_type": "t", "event_name": "n", "properties": [1, 2]}
    )

    assert response.status_code == 422


async def test_an_event_type_holding_nul_is_422(commands: httpx.AsyncClient) -> None:
    """It becomes a field name in the activity summary, where MongoDB refuses NUL."""
    body = {"event_type": "page\x00view", "event_name": "dashboard"}

    response = await commands.post(EVENTS, json=body)

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "event_type"]

"""HTTP helpers for tests that drive the whole system through its API."""

from __future__ import annotations

from typing import Any

import httpx

API = "/api/v1"


async def command(api: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Sends a command that must succeed."""
    response = await api.request(method, f"{API}{url}", **kwargs)
    assert response.status_code < 300, response.text
    return response


def after(response: httpx.Response) -> dict[str, str]:
    """Read-your-writes: ask the query to wait for this command's events."""
    return {"X-Min-Position": response.headers["x-event-position"]}


def is_problem(response: httpx.Response, status: int) -> bool:
    return (
        response.status_code == status
        and response.headers["content-type"] == "application/problem+json"
        and response.json()["status"] == status
    )

"""Helpers that put the system in a state through its own API (never behind its back)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

PASSWORD = "Sturdy-Password-42"


def unique(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def new_user_body(**overrides: Any) -> dict[str, Any]:
    name = unique()
    body: dict[str, Any] = {
        "email": f"{name}@example.com",
        "username": name,
        "password": PASSWORD,
        "full_name": "Ada Lovelace",
    }
    body.update(overrides)
    return body


async def a_user(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/users", json=new_user_body(**overrides))
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


async def a_task(client: httpx.AsyncClient, user_id: str, **overrides: Any) -> dict[str, Any]:
    body = {"user_id": user_id, "title": "Write the report", **overrides}
    response = await client.post("/api/v1/tasks", json=body)
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task

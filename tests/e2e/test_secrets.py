"""No password, password hash or token leaves the event store: not in a response, a log
line, an AMQP message, a read-model document or a Redis value, after a whole lifecycle."""

from __future__ import annotations

import uuid

import httpx
import pytest
from redis.asyncio import Redis

from common.settings import Settings
from tests.conftest import System
from tests.support.broker import bound_queue, delete, drain
from tests.support.http import API, after
from tests.support.stores import every_document
from write_side.bootstrap import WriteSide
from write_side.broker import exchange_name

FIRST = f"First-Secret-{uuid.uuid4().hex[:10]}"
SECOND = f"Second-Secret-{uuid.uuid4().hex[:10]}"
WEAK = f"weak{uuid.uuid4().hex[:4]}"


async def test_secrets_stay_in_the_event_store(
    system: System,
    settings: Settings,
    write_side: WriteSide,
    capfd: pytest.CaptureFixture[str],
) -> None:
    queue = f"{settings.namespace}.secrets-witness"
    await bound_queue(settings.rabbitmq_url, exchange_name(settings.namespace), queue)
    api, seen = system.api, []

    async def send(method: str, url: str, **kwargs: object) -> httpx.Response:
        response = await api.request(method, f"{API}{url}", **kwargs)  # type: ignore[arg-type]
        seen.append(response)
        return response

    name = f"s{uuid.uuid4().hex[:12]}"
    await send(
        "POST",
        "/users",
        json={"email": f"{name}@example.com", "username": f"w{name}", "password": WEAK},
    )
    user = (
        await send(
            "POST",
            "/users",
            json={"email": f"{name}@example.com", "username": name, "password": FIRST},
        )
    ).json()
    await send(
        "POST",
        "/auth/token",
        json={"username": name, "password": SECOND},
        headers={"Authorization": ""},
    )
    login = await send(
        "POST",
        "/auth/token",
        json={"username": name, "password": FIRST},
        headers={"Authorization": ""},
    )
    token = login.json()["access_token"]
    own = {"Authorization": f"Bearer {token}"}
    await send(
        "POST",
        f"/users/{user['id']}/password",
        json={"current_password": FIRST, "new_password": WEAK},
        headers=own,
    )
    await send(
        "POST",
        f"/users/{user['id']}/password",
        json={"current_password": FIRST, "new_password": SECOND},
        headers=own,
    )
    task = (await send("POST", "/tasks", json={"title": "t"}, headers=own)).json()
    await send("PATCH", f"/tasks/{task['id']}", json={"status": "in_progress"}, headers=own)
    await send(
        "POST", "/analytics/events", json={"event_type": "login", "event_name": "ok"}, headers=own
    )
    await send("PATCH", f"/users/{user['id']}", json={"bio": "b"}, headers=own)
    await send("POST", f"/users/{user['id']}/deactivate")
    last = await send("POST", f"/users/{user['id']}/activate")
    for path in (
        f"/users/{user['id']}",
        f"/tasks/{task['id']}",
        f"/audit/{user['id']}",
        f"/users/{user['id']}/tasks",
        f"/analytics/summary/user/{user['id']}",
    ):
        await send("GET", path, headers=own | after(last))
    await send("GET", "/users", params={"search": name}, headers=after(last))
    deleted = await send("DELETE", f"/users/{user['id']}")
    await send("GET", f"/users/{user['id']}", headers=after(deleted))

    stored = write_side.store.load(uuid.UUID(user["id"]))
    hashes = [e.event.password_hash for e in stored if hasattr(e.event, "password_hash")]
    assert [h[:8] for h in hashes] == ["$argon2i", "$argon2i"]
    secrets = [FIRST, SECOND, WEAK, token, *hashes, *(h.split("$")[-1] for h in hashes)]

    responses = [f"{r.headers}\n{r.text}" for r in seen if r is not login]  # it has the token
    assert [r.status_code for r in seen][:4] == [422, 201, 401, 200]
    logs = capfd.readouterr()
    messages = [m.body.decode() for m in await drain(settings.rabbitmq_url, queue)]
    await delete(settings.rabbitmq_url, queues=(queue,))
    documents = [str(doc) for doc in await every_document(settings.postgres_dsn)]
    redis = Redis.from_url(settings.redis_url)
    values = []
    async for key in redis.scan_iter(match=f"{settings.namespace}:*", count=1000):
        kind = str(await redis.type(key))
        if "hash" in kind:
            values.append(str(await redis.hgetall(key)))
        elif "string" in kind:
            values.append(str(await redis.get(key)))
        values.append(str(key))
    await redis.aclose()

    assert len(messages) >= 9
    assert documents
    assert values
    assert logs.out + logs.err
    for where, texts in {
        "responses": responses, "logs": [logs.out, logs.err], "AMQP messages": messages,
        "read-model documents": documents, "Redis": values,
    }.items():  # fmt: skip
        leaked = [s for s in secrets for text in texts if s in text]
        assert not leaked, f"{where} hold {len(leaked)} secret(s)"

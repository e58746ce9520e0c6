"""``tasktrail rebuild --all`` from the CLI, another process, while the system serves."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import orjson
from typer.testing import CliRunner, Result

from cli.main import app
from common.settings import Settings
from projections.catalog import NAMES
from read_side.generations import Generations
from tests.conftest import System
from tests.write_side.api.given import new_user_body


def rebuild(settings: Settings, *args: str) -> Result:
    env = {
        "TASKTRAIL_POSTGRES_DSN": settings.postgres_dsn,
        "TASKTRAIL_NAMESPACE": settings.namespace,
        "TASKTRAIL_MONGO_URL": None,
    }
    return CliRunner().invoke(app, ["rebuild", *args], env=env)


async def test_rebuild_all_switches_the_live_read_models_while_queries_go_on(
    settings: Settings, system: System
) -> None:
    api = system.api
    users = [(await api.post("/api/v1/users", json=new_user_body())).json()["id"] for _ in range(5)]
    before = {name: await Generations(system.store).current(name) for name in NAMES}
    failures: list[tuple[str, int]] = []
    reads = 0
    stop = asyncio.Event()

    async def reader() -> None:
        nonlocal reads
        while not stop.is_set():
            user = random.choice(users)
            for path in (f"/api/v1/users/{user}", f"/api/v1/audit/{user}",
                         f"/api/v1/users/{user}/tasks"):  # fmt: skip
                answer = await api.get(path)
                reads += 1
                if answer.status_code != 200:
                    failures.append((path, answer.status_code))
            await asyncio.sleep(0.005)

    readers = [asyncio.create_task(reader()) for _ in range(3)]
    result = await asyncio.to_thread(rebuild, settings, "--all", "--json")
    stop.set()
    await asyncio.gather(*readers)

    assert result.exit_code == 0, result.output
    reports: list[dict[str, Any]] = orjson.loads(result.stdout)
    assert [r["projection"] for r in reports] == list(NAMES)
    for report in reports:
        name = report["projection"]
        assert report["switched"], report
        assert report["switched_by"] == "the live projector", "the running system took it"
        assert report["parity"]["differences"] == [], report["parity"]
        assert report["new_generation"] == before[name] + 1
        assert await Generations(system.store).current(name) == before[name] + 1
    assert reads > 30, "queries ran throughout"
    assert failures == [], "no query failed or missed what exists"

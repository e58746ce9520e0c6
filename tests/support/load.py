"""A steady mixed load of commands and queries over HTTP that records every outcome.

Each command carries an X-Request-ID of its own, which the write side stores as the
correlation id of the events it appends: afterwards every stored event can be
traced to the command that caused it, and a command that failed must have caused
none. Each worker owns its users' tasks, so its commands never race each other
into conflicts: any answer other than 2xx or a clean 503 is a fault.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

import httpx

API = "/api/v1"
PASSWORD = "Sturdy-Password-42"


class Result(StrEnum):
    SUCCEEDED = "succeeded"
    """2xx."""
    UNAVAILABLE = "unavailable"
    """A 503 problem with Retry-After: a clean refusal."""
    UNKNOWN = "outcome unknown"
    """A 503 outcome-unknown problem: the command may or may not have been applied."""
    UNREACHABLE = "unreachable"
    """No answer from a process the test had deliberately killed."""
    FAULT = "fault"
    """Anything else: a 500, another unexpected status, a hang, a broken connection."""


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str
    request_id: str
    result: Result
    status: int | None
    seconds: float
    position: int | None = None
    created_id: str | None = None
    user_id: str | None = None
    """The user a command acted for."""
    detail: str = ""

    @property
    def is_command(self) -> bool:
        return not self.kind.startswith("get ")


@dataclass
class _Task:
    id: str
    user_id: str
    open: bool = True


@dataclass
class MixedLoad:
    """``workers`` command loops and ``readers`` query loops, each pausing ``pause`` s."""

    commands_url: str
    queries_url: str
    headers: dict[str, str]
    users: int = 6
    workers: int = 3
    readers: int = 2
    pause: float = 0.03
    timeout: float = 10.0
    """The bound on any answer: no configured timeout of the service is longer."""
    outcomes: list[Outcome] = field(default_factory=list)
    user_ids: list[str] = field(default_factory=list)
    transports: tuple[httpx.AsyncBaseTransport, httpx.AsyncBaseTransport] | None = None
    """(commands, queries) apps in this process, instead of servers at the URLs."""
    queries_down: bool = False
    """Set while the test has killed the query process on purpose."""
    _rng: random.Random = field(default_factory=lambda: random.Random(7))

    def _client(self, base: str) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=self.workers + self.readers + 4)
        transport = None
        if self.transports is not None:
            transport = self.transports[0 if base == self.commands_url else 1]
        return httpx.AsyncClient(
            base_url=base, headers=self.headers, timeout=self.timeout, limits=limits,
            transport=transport,
        )  # fmt: skip

    async def register(self) -> None:
        """The users every worker acts for; the service is healthy while they register."""
        async with self._client(self.commands_url) as client:
            for _ in range(self.users):
                outcome = await self._send(client, "register", "POST", "/users", json=_new_user())
                assert outcome.result is Result.SUCCEEDED, outcome
                assert outcome.created_id is not None
                self.user_ids.append(outcome.created_id)

    async def run(self, stop: asyncio.Event) -> None:
        async with (
            self._client(self.commands_url) as commands,
            self._client(self.queries_url) as queries,
        ):
            loops = [self._commands(commands, n, stop) for n in range(self.workers)]
            loops += [self._queries(queries, stop) for _ in range(self.readers)]
            await asyncio.gather(*loops)

    async def _commands(self, client: httpx.AsyncClient, worker: int, stop: asyncio.Event) -> None:
        mine = self.user_ids[worker :: self.workers] or self.user_ids
        tasks: list[_Task] = []
        while not stop.is_set():
            user = self._rng.choice(mine)
            open_tasks = [t for t in tasks if t.open]
            roll = self._rng.random()
            if roll < 0.3 or not open_tasks:
                body = {"user_id": user, "title": f"task {len(tasks)}", "priority": "high"}
                outcome = await self._send(
                    client, "create task", "POST", "/tasks", user=user, json=body
                )
                if outcome.result is Result.SUCCEEDED and outcome.created_id is not None:
                    tasks.append(_Task(outcome.created_id, user))
            elif roll < 0.5:
                task = self._rng.choice(open_tasks)
                body = {"title": f"renamed {uuid.uuid4().hex[:6]}", "status": "in_progress"}
                outcome = await self._send(
                    client, "patch task", "PATCH", f"/tasks/{task.id}", user=task.user_id, json=body
                )
                task.open = outcome.result is not Result.FAULT  # unknown state: leave it be
            elif roll < 0.65:
                task = self._rng.choice(open_tasks)
                outcome = await self._send(
                    client, "complete task", "POST", f"/tasks/{task.id}/complete", user=task.user_id
                )
                task.open = outcome.result is Result.UNAVAILABLE
            else:
                event = {"event_type": "ui", "event_name": "click", "user_id": user,
                         "properties": {"worker": worker}}  # fmt: skip
                await self._send(
                    client, "track", "POST", "/analytics/events", user=user, json=event
                )
            await asyncio.sleep(self.pause)

    async def _queries(self, client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        while not stop.is_set():
            user = self._rng.choice(self.user_ids)
            url = self._rng.choice(
                [f"/users/{user}", f"/users/{user}/tasks", f"/analytics/summary/user/{user}",
                 "/users?limit=20", f"/tasks?user_id={user}&limit=20"]
            )  # fmt: skip
            await self._send(client, f"get {url.split('?')[0].split('/')[1]}", "GET", url)
            await asyncio.sleep(self.pause)

    async def _send(
        self,
        client: httpx.AsyncClient,
        kind: str,
        method: str,
        url: str,
        *,
        user: str | None = None,
        json: object = None,
    ) -> Outcome:
        request_id = f"load-{uuid.uuid4().hex}"
        down = method == "GET" and self.queries_down
        started = time.monotonic()
        try:
            response = await client.request(
                method, f"{API}{url}", headers={"X-Request-ID": request_id}, json=json
            )
        except httpx.TransportError as error:
            down = down or (method == "GET" and self.queries_down)
            outcome = Outcome(
                kind, request_id, Result.UNREACHABLE if down else Result.FAULT, None,
                time.monotonic() - started, user_id=user, detail=repr(error),
            )  # fmt: skip
        else:
            outcome = _judge(kind, request_id, response, time.monotonic() - started, user)
        self.outcomes.append(outcome)
        return outcome

    def commands(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.is_command]

    def queries(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.is_command]

    def tally(self, outcomes: list[Outcome]) -> Counter[Result]:
        return Counter(o.result for o in outcomes)


def _judge(
    kind: str, request_id: str, response: httpx.Response, seconds: float, user: str | None
) -> Outcome:
    status = response.status_code
    if 200 <= status < 300 or (kind.startswith("get ") and status == 404):
        position = response.headers.get("x-event-position")
        created = response.json().get("id") if status == 201 and response.content else None
        return Outcome(
            kind, request_id, Result.SUCCEEDED, status, seconds,
            int(position) if position else None, created, user,
        )  # fmt: skip
    clean = (
        status == 503
        and response.headers.get("content-type") == "application/problem+json"
        and "retry-after" in response.headers
    )
    result = Result.UNAVAILABLE if clean else Result.FAULT
    if clean and response.json().get("type") == "urn:tasktrail:problem:outcome-unknown":
        result = Result.UNKNOWN
    return Outcome(
        kind, request_id, result, status, seconds, user_id=user, detail=response.text[:300]
    )


def _new_user() -> dict[str, str]:
    tag = uuid.uuid4().hex[:12]
    return {"email": f"{tag}@example.com", "username": f"u{tag}", "password": PASSWORD}

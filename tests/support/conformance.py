"""Shared pieces of the schemathesis runs against the two OpenAPI documents.

Both runs generate bounded cases per operation (valid and invalid), send them
in process through ASGI as an admin, and hold every answer to its schema plus
one rule of ours: every error is an RFC 7807 problem. A tally per schema counts
operations, cases and failures, so a run's totals can be quoted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from schemathesis import BaseSchema, Case, CheckContext, Response
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Ok
from starlette.types import ASGIApp, Receive, Scope, Send

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "request_id"}

AnyCase = Case[Any]

BOUNDED = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
"""About 25 generated cases per operation and phase keep both runs well under 3 minutes."""


def credentials(case: AnyCase, headers: dict[str, str]) -> dict[str, str]:
    """The caller's headers, unless the case is a negative one that leaves Authorization
    out on purpose: sent with it, the case is valid, rightly accepted, and schemathesis
    reports a "schema-violating request accepted" (one run in about fifteen)."""
    mutations = getattr(case.meta.phase.data, "mutations", ()) if case.meta else ()
    dropped = any(
        m.parameter_location is ParameterLocation.HEADER
        and "required" in m.keywords
        and str(m.original_value).lower() == "authorization"
        for m in mutations
    )
    return {} if dropped else headers


def errors_are_problems(ctx: CheckContext, response: Response, case: AnyCase) -> bool | None:
    """Every 4xx and 5xx is application/problem+json with the RFC 7807 fields."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type == PROBLEM_MEDIA_TYPE, f"an error answered as {content_type!r}"
    body = json.loads(response.content or b"null")
    assert isinstance(body, dict), "a problem body must be a JSON object"
    missing = PROBLEM_FIELDS - set(body)
    assert not missing, f"the problem lacks {sorted(missing)}"
    assert body["status"] == response.status_code, "the problem's status differs from the HTTP one"
    return True


@dataclass
class Tally:
    """What one schema's run exercised: operations, cases sent, and what failed."""

    schema: str
    operations: set[str] = field(default_factory=set)
    cases: int = 0
    failed_cases: int = 0
    failed_operations: set[str] = field(default_factory=set)

    @contextmanager
    def case(self, case: AnyCase) -> Iterator[None]:
        label = case.operation.label
        self.operations.add(label)
        self.cases += 1
        try:
            yield
        except BaseException:
            self.failed_cases += 1
            self.failed_operations.add(label)
            raise

    def summary(self) -> str:
        return (
            f"schemathesis [{self.schema}]: {len(self.operations)} operations, "
            f"{self.cases} cases, {self.failed_cases} failing cases "
            f"in {len(self.failed_operations)} operations"
            + (f" ({', '.join(sorted(self.failed_operations))})" if self.failed_operations else "")
        )


def documented(schema: BaseSchema) -> set[str]:
    """The labels (``GET /path``) of every operation the schema documents."""
    return {result.ok().label for result in schema.get_all_operations() if isinstance(result, Ok)}


class LateApp:
    """Stands in for an app that fixtures build later. ``schema.parametrize`` needs the
    schema, and the app cases go to, at import; the real app needs the session's
    database. Its own lifespan is a no-op: fixtures own what the target opens."""

    def __init__(self, target: ASGIApp) -> None:
        self.target = target

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await self.target(scope, receive, send)

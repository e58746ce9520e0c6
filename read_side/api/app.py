"""Builds the query app from a ReadSide; the caller owns its lifetime."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from starlette.responses import Response

from common.middleware import BodyLimit, HeadAsGet, RequestContext
from common.problems import (
    Problem,
    install_problem_handlers,
    problem_response,
    problem_responses,
)
from common.telemetry import TELEMETRY_OFF
from common.tokens import TokenCodec
from read_side.api import analytics, audit, health, tasks, users
from read_side.api.deps import only_declared_query
from read_side.api.fast_path import DocumentFastPath
from read_side.bootstrap import ReadSide
from read_side.store import StoreUnavailable

API_PREFIX = "/api/v1"
QUERY_ERRORS = problem_responses(401, 403, 404, 413, 422, 500, 503, 504)
"""What any query may answer besides success; every one is a problem."""
HEALTH_ERRORS = problem_responses(413, 500, 503)


async def _unavailable(request: Request, exc: Exception) -> Response:
    problem = Problem(
        503, "the read store is unavailable; retry later", slug="unavailable",
        headers={"Retry-After": "5"},
    )  # fmt: skip
    return problem_response(request.scope, problem)


def create_query_app(
    read_side: ReadSide,
    tokens: TokenCodec,
    *,
    max_body_bytes: int = 1_048_576,
    fast_path: bool = True,
) -> FastAPI:
    """``fast_path=False`` leaves every request to the routes; tests compare the two."""
    app = FastAPI(
        telemetry=TELEMETRY_OFF,
        title="tasktrail queries",
        version="1",
        description="Reads the read models only; X-Min-Position gives read-your-writes.",
    )
    app.state.read_side = read_side
    app.state.tokens = tokens
    for router in (users.router, tasks.router, analytics.router, audit.router):
        app.include_router(
            router,
            prefix=API_PREFIX,
            responses=QUERY_ERRORS,
            dependencies=[Depends(only_declared_query)],
        )
    app.include_router(health.router, responses=HEALTH_ERRORS)
    install_problem_handlers(app)
    app.add_exception_handler(StoreUnavailable, _unavailable)
    if fast_path:
        app.add_middleware(DocumentFastPath, read_side=read_side, tokens=tokens, prefix=API_PREFIX)
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    app.add_middleware(HeadAsGet)
    app.add_middleware(RequestContext)
    return app

"""Builds the command app from a WriteSide; the caller owns its lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from common.middleware import BodyLimit, RequestContext
from common.problems import install_problem_handlers, problem_responses
from common.telemetry import TELEMETRY_OFF
from common.tokens import TokenCodec
from write_side.api import analytics, auth, health, tasks, users
from write_side.api.errors import install_error_handlers
from write_side.api.threads import CommandThreads
from write_side.bootstrap import WriteSide

API_PREFIX = "/api/v1"
COMMAND_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 413, 422, 500, 503)
"""What any command may answer besides success (400: a body that is not UTF-8)."""
HEALTH_ERRORS = problem_responses(413, 500, 503)


def create_command_app(
    write_side: WriteSide, tokens: TokenCodec, *, docs_prefix: str = ""
) -> FastAPI:
    """``docs_prefix`` moves /docs and /openapi.json, to share a port with the query app."""
    threads = CommandThreads(write_side.settings.command_threads)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        threads.close()

    app = FastAPI(
        lifespan=lifespan,
        telemetry=TELEMETRY_OFF,
        docs_url=f"{docs_prefix}/docs",
        redoc_url=None,
        openapi_url=f"{docs_prefix}/openapi.json",
        title="tasktrail commands",
        version="1",
        description="Every change is a command that appends events to the event store.",
    )
    app.state.write_side = write_side
    app.state.tokens = tokens
    app.state.threads = threads
    for router in (auth.router, users.router, tasks.router, analytics.router):
        app.include_router(router, prefix=API_PREFIX, responses=COMMAND_ERRORS)
    app.include_router(health.router, responses=HEALTH_ERRORS)
    install_problem_handlers(app)
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=write_side.settings.max_body_bytes)
    app.add_middleware(RequestContext)
    return app

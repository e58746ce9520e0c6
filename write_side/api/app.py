"""Builds the command app from a WriteSide; the caller owns its lifetime."""

from __future__ import annotations

from fastapi import FastAPI

from common.middleware import BodyLimit, RequestContext
from common.problems import install_problem_handlers
from common.tokens import TokenCodec
from write_side.api import analytics, auth, health, tasks, users
from write_side.api.errors import install_error_handlers
from write_side.bootstrap import WriteSide

API_PREFIX = "/api/v1"


def create_command_app(
    write_side: WriteSide, tokens: TokenCodec, *, docs_prefix: str = ""
) -> FastAPI:
    """``docs_prefix`` moves /docs and /openapi.json, to share a port with the query app."""
    app = FastAPI(
        docs_url=f"{docs_prefix}/docs",
        redoc_url=None,
        openapi_url=f"{docs_prefix}/openapi.json",
        title="tasktrail commands",
        version="1",
        description="Every change is a command that appends events to the event store.",
    )
    app.state.write_side = write_side
    app.state.tokens = tokens
    for router in (auth.router, users.router, tasks.router, analytics.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health.router)
    install_problem_handlers(app)
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=write_side.settings.max_body_bytes)
    app.add_middleware(RequestContext)
    return app

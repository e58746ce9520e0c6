"""RFC 7807 problem responses, and the handlers that turn every error into one.

No error reaches a client as a stack trace: anything unexpected becomes a
generic 500 problem, and the trace goes to the log with the request id.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match

MEDIA_TYPE = "application/problem+json"
log = structlog.get_logger("tasktrail.problems")


class Problem(Exception):
    """An error with everything needed to answer it as problem+json."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.slug = slug or self.title.lower().replace(" ", "-")
        self.headers = dict(headers or {})
        self.extra = extra


class ProblemDetails(BaseModel):
    """The body of every error, for the OpenAPI documents; some problems add fields."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None
    request_id: str | None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring these statuses as problems, so that the documents
    tell clients (and schema checkers) what errors look like, not FastAPI's default 422."""
    schema = ProblemDetails.model_json_schema()
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {MEDIA_TYPE: {"schema": schema}},
        }
        for status in statuses
    }


def request_id_of(request_scope: Mapping[str, Any]) -> str | None:
    state = request_scope.get("state") or {}
    return state.get("request_id")


def problem_response(scope: Mapping[str, Any], problem: Problem) -> Response:
    body = {
        "type": f"urn:tasktrail:problem:{problem.slug}",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": scope.get("path"),
        "request_id": request_id_of(scope),
        **problem.extra,
    }
    return Response(
        orjson.dumps(body), problem.status, headers=problem.headers, media_type=MEDIA_TYPE
    )


def _field_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()]


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(request.scope, exc)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problem = Problem(
        422,
        "the request is not valid; see errors",
        slug="invalid-request",
        title="Invalid request",
        errors=_field_errors(exc),
    )
    return problem_response(request.scope, problem)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """Starlette's 405 names the methods of the first route matching the path only; a
    path served by several routes (PATCH and DELETE /users/{id}) allows all of theirs."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem_response(request.scope, Problem(exc.status_code, detail, headers=headers))


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", path=request.url.path)
    return problem_response(
        request.scope, Problem(500, "an unexpected error occurred; it has been logged")
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)

"""The one place where write-side errors become HTTP problems."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response

from common.problems import Problem, problem_response
from write_side.domain.errors import (
    Conflict,
    DomainError,
    DuplicateEmail,
    DuplicateUsername,
    Forbidden,
    InvalidCommand,
    InvalidTransition,
    NotFound,
    VersionMismatch,
)
from write_side.event_store import CommitOutcomeUnknown, StoreUnavailable
from write_side.executor import IdempotencyKeyReused, TooMuchContention
from write_side.login_limits import LimiterUnavailable

RETRY_AFTER_SECONDS = "5"


def to_problem(error: Exception) -> Problem:
    detail = str(error)
    match error:
        case NotFound():
            return Problem(404, detail)
        case Forbidden():
            return Problem(403, detail, slug="forbidden", title="Forbidden")
        case DuplicateEmail():
            return Problem(409, detail, slug="duplicate-email", title="Email already registered")
        case DuplicateUsername():
            return Problem(409, detail, slug="duplicate-username", title="Username taken")
        case InvalidTransition():
            return Problem(409, detail, slug="invalid-transition", title="Invalid transition")
        case TooMuchContention():
            return Problem(409, detail, slug="contention", title="Concurrent modification")
        case Conflict():
            return Problem(409, detail)
        case VersionMismatch():
            return Problem(412, detail, slug="version-mismatch", current_version=error.actual)
        case IdempotencyKeyReused():
            return Problem(422, detail, slug="idempotency-key-reused")
        case InvalidCommand():
            errors = [{"loc": ["body", error.field], "msg": detail, "type": "value_error"}]
            return Problem(
                422, detail, slug="invalid-request", title="Invalid request", errors=errors
            )
        case CommitOutcomeUnknown():
            return Problem(
                503,
                "the event store went away while committing this command and has not come "
                "back to say whether it did; retry with the same Idempotency-Key, or read "
                "the resource to find out",
                slug="outcome-unknown",
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
        case StoreUnavailable():
            return Problem(
                503,
                "the event store is unavailable; retry later",
                slug="unavailable",
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
        case LimiterUnavailable():
            return Problem(
                503,
                "logging in is unavailable; retry later",
                slug="unavailable",
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
    return Problem(500, "an unexpected error occurred; it has been logged")


async def _on_error(request: Request, exc: Exception) -> Response:
    return problem_response(request.scope, to_problem(exc))


def install_error_handlers(app: FastAPI) -> None:
    for error_type in (DomainError, StoreUnavailable, LimiterUnavailable):
        app.add_exception_handler(error_type, _on_error)

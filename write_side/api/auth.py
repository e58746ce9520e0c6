"""Logging in: a username or email and a password buy a short-lived bearer token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from common.problems import Problem, problem_responses
from common.tokens import TokenCodec
from write_side.api.deps import WriteSideDep
from write_side.api.schemas import AccessToken, Login
from write_side.api.threads import Threads
from write_side.bootstrap import WriteSide
from write_side.domain.reservations import Kind, reservation_id

router = APIRouter(prefix="/auth", tags=["auth"])

_REFUSED = "the login or the password is not correct"


@router.post("/token", response_model=AccessToken, responses=problem_responses(401, 429))
async def issue_token(
    body: Login, request: Request, ws: WriteSideDep, threads: Threads
) -> Response:
    """Every refusal reads the same, and costs the same, whether or not the account exists."""
    address = request.client.host if request.client else "unknown"
    tokens: TokenCodec = request.app.state.tokens
    return await threads.run(_issue, body, address, ws, tokens)


def _issue(body: Login, address: str, ws: WriteSide, tokens: TokenCodec) -> Response:
    """Blocking: the login limits in Redis, the password hash, the event store."""
    kind, login = (Kind.EMAIL, body.email) if body.email else (Kind.USERNAME, body.username)
    assert login is not None
    account = str(reservation_id(kind, login))
    wait = ws.logins.retry_after(account, address)
    if wait:
        raise Problem(
            429,
            "too many failed logins; retry later",
            slug="too-many-logins",
            headers={"Retry-After": str(wait)},
        )
    user = ws.users.authenticate(kind, login, body.password)
    if user is None:
        ws.logins.failed(account, address)
        raise Problem(
            401,
            _REFUSED,
            slug="invalid-credentials",
            title="Unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="tasktrail"'},
        )
    ws.logins.succeeded(account)
    issued = AccessToken(
        access_token=tokens.issue(user.id, user.role),
        expires_in=int(tokens.lifetime.total_seconds()),
    )
    return Response(
        issued.model_dump_json(),
        media_type="application/json",
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )

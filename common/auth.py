"""The bearer-token dependency both APIs share: every request but registration,
login and health checks names its caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from common.problems import Problem
from common.tokens import Claims, InvalidToken, TokenCodec

_bearer = HTTPBearer(
    auto_error=False,
    description="A token from POST /api/v1/auth/token",
)


async def _claims(  # async: a sync dependency would cost a worker-thread hop per request
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Claims:
    if credentials is None:
        raise Problem(
            401,
            "this needs a bearer token: get one from POST /api/v1/auth/token",
            slug="unauthenticated",
            title="Unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="tasktrail"'},
        )
    tokens: TokenCodec = request.app.state.tokens
    try:
        return tokens.verify(credentials.credentials)
    except InvalidToken as error:
        raise Problem(
            401,
            "the bearer token is invalid or has expired",
            slug="invalid-token",
            title="Unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="tasktrail", error="invalid_token"'},
        ) from error


Caller = Annotated[Claims, Depends(_claims)]

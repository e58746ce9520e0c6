"""FastAPI dependencies of the command API, as Annotated aliases."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated

from fastapi import Depends, Header, Request
from pydantic.json_schema import SkipJsonSchema

from common.auth import Caller
from common.problems import Problem
from common.tokens import Claims
from events.users import Role
from write_side.bootstrap import WriteSide
from write_side.domain.access import Principal
from write_side.executor import CommandContext

_ETAG = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


async def _write_side(request: Request) -> WriteSide:
    write_side: WriteSide = request.app.state.write_side
    return write_side


def parse_if_match(value: str | None) -> int | None:
    """The version an If-Match names; None for absent or ``*`` (any current version)."""
    if value is None or value.strip() == "*":
        return None
    match = _ETAG.match(value.strip())
    if match is None:
        raise Problem(
            412, f"If-Match {value!r} is not a version this API issued", slug="version-mismatch"
        )
    return int(match.group(1))


# The patterns are documented, not enforced by FastAPI: a malformed If-Match is a failed
# precondition (412), and a malformed Idempotency-Key a 422 of our own wording.
IfMatch = Annotated[
    str | SkipJsonSchema[None],
    Header(
        description='The version you last saw, as "N"; * for any',
        json_schema_extra={"pattern": r'^(\*|(W/)?"?[0-9]{1,18}"?)$'},
    ),
]
IdempotencyKey = Annotated[
    str | SkipJsonSchema[None],
    Header(
        description="Makes a retried POST return the first result",
        json_schema_extra={"pattern": _IDEMPOTENCY_KEY.pattern},
    ),
]


async def _context(
    request: Request,
    principal: Principal | None,
    if_match: str | None,
    idempotency_key: str | None,
) -> CommandContext:
    fingerprint = ""
    if idempotency_key is not None:
        if not _IDEMPOTENCY_KEY.match(idempotency_key):
            raise Problem(
                422,
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
                slug="invalid-request",
            )
        body = await request.body()
        caller = principal.user_id if principal else "anonymous"
        # The caller is part of the fingerprint: someone else's key never replays its result.
        digest = hashlib.sha256(f"{caller} {request.method} {request.url.path}\n".encode() + body)
        fingerprint = digest.hexdigest()
    return CommandContext(
        correlation_id=request.scope["state"]["request_id"],
        actor=str(principal.user_id) if principal else None,
        principal=principal,
        expected_version=parse_if_match(if_match),
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
    )


def principal_of(claims: Claims) -> Principal:
    try:
        return Principal(claims.subject, Role(claims.role))
    except ValueError as error:
        raise Problem(
            401, "the bearer token names an unknown role", slug="invalid-token"
        ) from error


async def _command_context(
    request: Request,
    caller: Caller,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> CommandContext:
    return await _context(request, principal_of(caller), if_match, idempotency_key)


async def _anonymous_context(
    request: Request, idempotency_key: IdempotencyKey = None
) -> CommandContext:
    """For registration, the one command anyone may send."""
    return await _context(request, None, None, idempotency_key)


WriteSideDep = Annotated[WriteSide, Depends(_write_side)]
Context = Annotated[CommandContext, Depends(_command_context)]
AnonymousContext = Annotated[CommandContext, Depends(_anonymous_context)]

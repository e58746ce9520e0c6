"""FastAPI dependencies of the command API, as Annotated aliases."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated

from fastapi import Depends, Header, Request

from common.problems import Problem
from write_side.bootstrap import WriteSide
from write_side.executor import CommandContext

_ETAG = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def _write_side(request: Request) -> WriteSide:
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


async def _command_context(
    request: Request,
    if_match: Annotated[str | None, Header(description='The version you last saw, as "N"')] = None,
    idempotency_key: Annotated[
        str | None, Header(description="Makes a retried POST return the first result")
    ] = None,
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
        digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode() + body)
        fingerprint = digest.hexdigest()
    return CommandContext(
        correlation_id=request.scope["state"]["request_id"],
        expected_version=parse_if_match(if_match),
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
    )


WriteSideDep = Annotated[WriteSide, Depends(_write_side)]
Context = Annotated[CommandContext, Depends(_command_context)]

"""The hottest queries, a user or a task by id, answered without FastAPI's routing and
dependency solving.

Profiled under load (B2, a cached GET /users/{id}), dependency solving and routing
were about half of the request; the lookup itself a fifth. This middleware answers
those two routes by calling what their endpoints call (token verification, the
access rule, read positions, ``cached_document``), and only when its answer is the
one the route would give: a document, 200. Everything else (no token or a bad one,
a query string, an X-Min-Position not yet reached, a 404, an unavailable store) is
handed on to the app, which answers it in full. So the routes remain the contract
(OpenAPI document, errors, validation), and the fast path can only ever be slower
than it needs to be, never different.
"""

from __future__ import annotations

import re
from uuid import UUID

from starlette.types import ASGIApp, Receive, Scope, Send

from common.problems import Problem
from common.tokens import Claims, InvalidToken, TokenCodec
from read_side.api.access import may_read
from read_side.api.cached import cached_document
from read_side.bootstrap import ReadSide
from read_side.store import StoreUnavailable
from read_side.tables import TASKS, USERS

_UUID = "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_BEARER = b"bearer "


class DocumentFastPath:
    def __init__(self, app: ASGIApp, read_side: ReadSide, tokens: TokenCodec, prefix: str) -> None:
        self.app = app
        self.read_side = read_side
        self.tokens = tokens
        self._by_id = re.compile(f"{re.escape(prefix)}/(users|tasks)/({_UUID})")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not await self._answered(scope, receive, send):
            await self.app(scope, receive, send)

    async def _answered(self, scope: Scope, receive: Receive, send: Send) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["query_string"]:
            return False
        match = self._by_id.fullmatch(scope["path"])
        if match is None:
            return False
        headers = _headers(scope, (b"authorization", b"x-min-position"))
        if headers is None:
            return False
        caller = self._caller(headers.get(b"authorization"))
        wanted = headers.get(b"x-min-position")
        if caller is None or (wanted is not None and not (wanted.isascii() and wanted.isdigit())):
            return False
        try:
            id = str(UUID(match[2]))
        except ValueError:
            return False
        projection = match[1]
        try:
            position = await self.read_side.checkpoints.position(projection)
            if wanted is not None and position < int(wanted):
                return False  # the route waits for it
            if projection == "users":
                if not may_read(caller, id):
                    return False
                response = await cached_document(self.read_side, "user", USERS, id, position)
            else:
                response = await cached_document(
                    self.read_side, "task", TASKS, id, position,
                    visible=lambda doc: may_read(caller, doc["user_id"]),
                )  # fmt: skip
        except (Problem, StoreUnavailable):
            return False
        await response(scope, receive, send)
        return True

    def _caller(self, authorization: bytes | None) -> Claims | None:
        if authorization is None or authorization[:7].lower() != _BEARER:
            return None
        try:
            return self.tokens.verify(authorization[7:].decode("latin-1"))
        except InvalidToken:
            return None


def _headers(scope: Scope, names: tuple[bytes, ...]) -> dict[bytes, bytes] | None:
    """The named headers, or None if one is repeated: which of two values counts is the
    full route's business."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in names:
            if name in found:
                return None
            found[name] = value
    return found

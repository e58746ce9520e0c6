"""The audit trail of one stream, oldest first."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from starlette.responses import Response

from common.auth import Caller
from read_side.api.access import is_admin, may_read
from read_side.api.deps import AuditPosition, PagingDep, ReadSideDep
from read_side.api.responses import not_found, page_of, read_page
from read_side.api.schemas import AuditEntry, Page
from read_side.store import Criteria, Document
from read_side.tables import AUDIT

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("/{stream_id}", response_model=Page[AuditEntry])
async def audit_trail(
    stream_id: UUID, caller: Caller, rs: ReadSideDep, paging: PagingDep, position: AuditPosition
) -> Response:
    """Members read the trails of their own user, tasks and activity."""
    table = await rs.table("audit", AUDIT)
    stream = {"stream_id": str(stream_id)}
    if not is_admin(caller):
        first = await rs.store.find(table, Criteria(stream | {"stream_version": 1}, limit=1))
        if not first or not may_read(caller, _owner(first[0])):
            raise not_found(f"no events recorded for stream {stream_id}", position)
    query = Criteria(
        stream, order=(("stream_version", False),), limit=paging.limit, offset=paging.offset
    )
    docs, total = await read_page(rs, table, query)
    if total == 0:
        raise not_found(f"no events recorded for stream {stream_id}", position)
    return page_of(docs, total, paging, position)


def _owner(first: Document) -> object:
    """A user's stream is their own; a task's or an activity's names its user."""
    if str(first["type"]).startswith("user."):
        return first["stream_id"]
    return first["changes"].get("user_id")

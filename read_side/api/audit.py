"""The audit trail of one stream, oldest first."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from starlette.responses import Response

from read_side.api.deps import AuditPosition, PagingDep, ReadSideDep
from read_side.api.responses import not_found, page
from read_side.api.schemas import AuditEntry, Page

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("/{stream_id}", response_model=Page[AuditEntry])
async def audit_trail(
    stream_id: UUID, rs: ReadSideDep, paging: PagingDep, position: AuditPosition
) -> Response:
    query = {"stream_id": str(stream_id)}
    collection = await rs.collection("audit")
    total = await collection.count(query)
    if total == 0:
        raise not_found(f"no events recorded for stream {stream_id}", position)
    docs = await collection.find(
        query, sort=[("stream_version", 1)], skip=paging.offset, limit=paging.limit
    )
    return page(docs, total, paging, position)

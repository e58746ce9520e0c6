"""Queries of analytics: a user's events, newest first, and their activity summary."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from starlette.responses import Response

from common.auth import Caller
from read_side.api.access import may_read
from read_side.api.deps import AnalyticsPosition, PagingDep, ReadSideDep
from read_side.api.responses import document, not_found, page
from read_side.api.schemas import AnalyticsEventView, Page, SummaryView
from read_side.store import Criteria
from read_side.tables import ANALYTICS_EVENTS, SUMMARIES

router = APIRouter(prefix="/analytics", tags=["analytics"])


@router.get("/events/user/{user_id}", response_model=Page[AnalyticsEventView])
async def events_of_user(
    user_id: UUID, caller: Caller, rs: ReadSideDep, paging: PagingDep, position: AnalyticsPosition
) -> Response:
    if not may_read(caller, user_id):
        raise not_found(f"user {user_id} does not exist", position)
    query = Criteria(
        {"user_id": str(user_id)},
        order=(("timestamp", True),),
        limit=paging.limit,
        offset=paging.offset,
    )
    return await page(rs, await rs.table("analytics", ANALYTICS_EVENTS), query, paging, position)


@router.get("/summary/user/{user_id}", response_model=SummaryView)
async def summary_of_user(
    user_id: UUID, caller: Caller, rs: ReadSideDep, position: AnalyticsPosition
) -> Response:
    if not may_read(caller, user_id):
        raise not_found(f"no activity recorded for user {user_id}", position)
    doc = await rs.store.get(await rs.table("analytics", SUMMARIES), str(user_id))
    if doc is None:
        raise not_found(f"no activity recorded for user {user_id}", position)
    return document(doc, position)

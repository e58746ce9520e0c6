"""Queries of users: by id (cached), by username or email, and a searchable list."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from starlette.responses import Response

from common.auth import Caller
from common.emails import Email
from read_side.api.access import may_read, require_admin
from read_side.api.cached import cached_document
from read_side.api.deps import PagingDep, ReadSideDep, UsersAndTasksPosition, UsersPosition
from read_side.api.responses import document, not_found, page
from read_side.api.schemas import Page, TaskView, UserView
from read_side.bootstrap import ReadSide
from read_side.store import Criteria, Document, Scalar
from read_side.tables import TASKS, USERS

router = APIRouter(prefix="/users", tags=["users"])
_ORDER = (("created_at", False),)


async def _one(rs: ReadSide, field: str, value: str) -> Document | None:
    found = await rs.store.find(await rs.table("users", USERS), Criteria({field: value}, limit=1))
    return found[0] if found else None


@router.get("/by-username/{username}", response_model=UserView)
async def user_by_username(
    username: str, caller: Caller, rs: ReadSideDep, position: UsersPosition
) -> Response:
    doc = await _one(rs, "_username", username.casefold())
    if doc is None or not may_read(caller, doc["id"]):
        raise not_found(f"no user has the username {username!r}", position)
    return document(doc, position)


@router.get("/by-email", response_model=UserView)
async def user_by_email(
    email: Annotated[Email, Query()], caller: Caller, rs: ReadSideDep, position: UsersPosition
) -> Response:
    doc = await _one(rs, "_email", email.casefold())
    if doc is None or not may_read(caller, doc["id"]):
        raise not_found("no user has this email", position)
    return document(doc, position)


@router.get("/{user_id}", response_model=UserView)
async def user(user_id: UUID, caller: Caller, rs: ReadSideDep, position: UsersPosition) -> Response:
    if not may_read(caller, user_id):
        raise not_found(f"user {user_id} does not exist", position)
    return await cached_document(rs, "user", USERS, str(user_id), position)


@router.get("", response_model=Page[UserView])
async def users(
    caller: Caller,
    rs: ReadSideDep,
    paging: PagingDep,
    position: UsersPosition,
    status: Annotated[str | None, Query(pattern="^(active|inactive)$")] = None,
    search: Annotated[
        str | None,
        Query(max_length=100, description="Matches username, email or full name, literally"),
    ] = None,
) -> Response:
    """Admins only."""
    require_admin(caller, "list or search users")
    where: dict[str, Scalar] = {} if status is None else {"status": status}
    query = Criteria(
        where, search=search or None, order=_ORDER, limit=paging.limit, offset=paging.offset
    )
    return await page(rs, await rs.table("users", USERS), query, paging, position)


@router.get("/{user_id}/tasks", response_model=Page[TaskView])
async def tasks_of_user(
    user_id: UUID,
    caller: Caller,
    rs: ReadSideDep,
    paging: PagingDep,
    position: UsersAndTasksPosition,
) -> Response:
    """Reads two read models, so it waits for both projectors."""
    if (
        not may_read(caller, user_id)
        or await rs.store.get(await rs.table("users", USERS), str(user_id)) is None
    ):
        raise not_found(f"user {user_id} does not exist", position)
    query = Criteria(
        {"user_id": str(user_id)}, order=_ORDER, limit=paging.limit, offset=paging.offset
    )
    return await page(rs, await rs.table("tasks", TASKS), query, paging, position)

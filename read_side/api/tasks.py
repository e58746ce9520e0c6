"""Queries of tasks: by id (cached) and a filtered list."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BeforeValidator
from starlette.responses import Response

from common.auth import Caller
from common.problems import Problem
from events.tasks import Priority, TaskStatus
from read_side.api.access import is_admin, may_read
from read_side.api.cached import cached_document
from read_side.api.deps import PagingDep, ReadSideDep, TasksPosition
from read_side.api.responses import page
from read_side.api.schemas import Page, TaskView
from read_side.store import Criteria, Scalar
from read_side.tables import TASKS

router = APIRouter(prefix="/tasks", tags=["tasks"])
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _calendar_day(value: object) -> object:
    """Pydantic also reads a number as a Unix time ("0" is 1970-01-01); a day is YYYY-MM-DD."""
    if isinstance(value, str) and not _DAY.fullmatch(value):
        raise ValueError("must be a day, as YYYY-MM-DD")
    return value


@router.get("/{task_id}", response_model=TaskView)
async def task(task_id: UUID, caller: Caller, rs: ReadSideDep, position: TasksPosition) -> Response:
    return await cached_document(
        rs,
        "task",
        TASKS,
        str(task_id),
        position,
        visible=lambda doc: may_read(caller, doc["user_id"]),
    )


@router.get("", response_model=Page[TaskView])
async def tasks(
    caller: Caller,
    rs: ReadSideDep,
    paging: PagingDep,
    position: TasksPosition,
    user_id: UUID | None = None,
    status: TaskStatus | None = None,
    priority: Priority | None = None,
    due_before: Annotated[
        date | None,
        BeforeValidator(_calendar_day),
        Query(description="Due strictly before this day"),
    ] = None,
) -> Response:
    """Members see their own tasks only; admins see everyone's."""
    if not is_admin(caller):
        if user_id is not None and user_id != caller.subject:
            raise Problem(403, "you may list only your own tasks", slug="forbidden")
        user_id = caller.subject
    where: dict[str, Scalar] = {}
    if user_id is not None:
        where["user_id"] = str(user_id)
    if status is not None:
        where["status"] = status.value
    if priority is not None:
        where["priority"] = priority.value
    below = {} if due_before is None else {"due_date": due_before.isoformat()}
    query = Criteria(
        where, below, order=(("created_at", False),), limit=paging.limit, offset=paging.offset
    )
    return await page(rs, await rs.table("tasks", TASKS), query, paging, position)

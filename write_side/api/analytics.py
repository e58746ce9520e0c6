"""Tracking activity: each tracked fact is stored as an event, so it is replayable."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.responses import Response

from write_side.api.deps import Context, WriteSideDep
from write_side.api.responses import resource
from write_side.api.schemas import ActivityCreate, ActivityPublic
from write_side.api.threads import Threads
from write_side.commands import TrackActivity
from write_side.domain.access import require

router = APIRouter(prefix="/analytics", tags=["analytics"])


@router.post("/events", status_code=201, response_model=ActivityPublic)
async def track_activity(
    body: ActivityCreate, ws: WriteSideDep, context: Context, threads: Threads
) -> Response:
    fields = body.model_dump()
    fields["user_id"] = body.user_id or require(context.principal).user_id
    command = TrackActivity(activity_id=uuid.uuid4(), **fields)
    executed = await threads.run(ws.activity.track, command, context)
    return resource(ActivityPublic.of(executed.result), executed, 201)

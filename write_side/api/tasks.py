"""Task commands: create, update (details and status), complete, delete."""

from __future__ import annotations

import uuid
from uuid import UUID

from fastapi import APIRouter
from starlette.responses import Response

from write_side.api.deps import Context, WriteSideDep
from write_side.api.responses import no_content, resource
from write_side.api.schemas import TaskCreate, TaskPublic, TaskUpdate
from write_side.api.threads import Threads
from write_side.commands import UNSET, CompleteTask, CreateTask, DeleteTask, UpdateTask
from write_side.domain.access import require

router = APIRouter(prefix="/tasks", tags=["tasks"])


@router.post("", status_code=201, response_model=TaskPublic)
async def create_task(
    body: TaskCreate, ws: WriteSideDep, context: Context, threads: Threads
) -> Response:
    command = CreateTask(
        task_id=uuid.uuid4(),
        user_id=body.user_id or require(context.principal).user_id,
        title=body.title,
        description=body.description,
        priority=body.priority,
        due_date=body.due_date,
    )
    executed = await threads.run(ws.tasks.create, command, context)
    task = executed.result
    return resource(TaskPublic.model_validate(task), executed, 201, f"/api/v1/tasks/{task.id}")


@router.patch("/{task_id}", response_model=TaskPublic)
async def update_task(
    task_id: UUID, body: TaskUpdate, ws: WriteSideDep, context: Context, threads: Threads
) -> Response:
    given = body.model_fields_set
    command = UpdateTask(
        task_id=task_id,
        title=body.title if body.title is not None else UNSET,
        description=body.description if "description" in given else UNSET,
        priority=body.priority if body.priority is not None else UNSET,
        due_date=body.due_date if "due_date" in given else UNSET,
        status=body.status if body.status is not None else UNSET,
    )
    executed = await threads.run(ws.tasks.update, command, context)
    return resource(TaskPublic.model_validate(executed.result), executed)


@router.post("/{task_id}/complete", status_code=204, response_class=Response)
async def complete_task(
    task_id: UUID, ws: WriteSideDep, context: Context, threads: Threads
) -> Response:
    return no_content(await threads.run(ws.tasks.complete, CompleteTask(task_id), context))


@router.delete("/{task_id}", status_code=204, response_class=Response)
async def delete_task(
    task_id: UUID, ws: WriteSideDep, context: Context, threads: Threads
) -> Response:
    return no_content(await threads.run(ws.tasks.delete, DeleteTask(task_id), context))

"""User commands: register, update, change password, (de)activate, delete."""

from __future__ import annotations

import dataclasses
import uuid
from uuid import UUID

from fastapi import APIRouter
from starlette.responses import Response

from write_side.api.deps import AnonymousContext, Context, WriteSideDep
from write_side.api.responses import no_content, resource
from write_side.api.schemas import (
    PasswordChange,
    RoleChange,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from write_side.api.threads import Threads
from write_side.commands import (
    UNSET,
    ChangePassword,
    ChangeRole,
    DeactivateUser,
    DeleteUser,
    ReactivateUser,
    RegisterUser,
    UpdateUser,
)

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", status_code=201, response_model=UserPublic)
async def register_user(
    body: UserCreate, ws: WriteSideDep, context: AnonymousContext, threads: Threads
) -> Response:
    """Open to anyone: the new user is the actor of their own registration."""
    user_id = uuid.uuid4()
    context = dataclasses.replace(context, actor=str(user_id))
    command = RegisterUser(
        user_id=user_id,
        email=body.email,
        username=body.username,
        password=body.password,
        full_name=body.full_name,
        bio=body.bio,
    )
    executed = await threads.run(ws.users.register, command, context)
    user = executed.result
    return resource(UserPublic.model_validate(user), executed, 201, f"/api/v1/users/{user.id}")


@router.patch("/{user_id}", response_model=UserPublic)
async def update_user(
    user_id: UUID, body: UserUpdate, ws: WriteSideDep, context: Context, threads: Threads
) -> Response:
    given = body.model_fields_set
    command = UpdateUser(
        user_id=user_id,
        email=body.email if body.email is not None else UNSET,
        username=body.username if body.username is not None else UNSET,
        full_name=body.full_name if "full_name" in given else UNSET,
        bio=body.bio if "bio" in given else UNSET,
    )
    executed = await threads.run(ws.users.update, command, context)
    return resource(UserPublic.model_validate(executed.result), executed)


@router.post("/{user_id}/password", status_code=204, response_class=Response)
async def change_password(
    user_id: UUID, body: PasswordChange, ws: WriteSideDep, context: Context, threads: Threads
) -> Response:
    command = ChangePassword(user_id, body.current_password, body.new_password)
    return no_content(await threads.run(ws.users.change_password, command, context))


@router.post("/{user_id}/deactivate", status_code=204, response_class=Response)
async def deactivate_user(
    user_id: UUID, ws: WriteSideDep, context: Context, threads: Threads
) -> Response:
    return no_content(await threads.run(ws.users.deactivate, DeactivateUser(user_id), context))


@router.post("/{user_id}/activate", status_code=204, response_class=Response)
async def activate_user(
    user_id: UUID, ws: WriteSideDep, context: Context, threads: Threads
) -> Response:
    """Admins only."""
    return no_content(await threads.run(ws.users.reactivate, ReactivateUser(user_id), context))


@router.put("/{user_id}/role", response_model=UserPublic)
async def change_role(
    user_id: UUID, body: RoleChange, ws: WriteSideDep, context: Context, threads: Threads
) -> Response:
    """Admins only."""
    executed = await threads.run(ws.users.change_role, ChangeRole(user_id, body.role), context)
    return resource(UserPublic.model_validate(executed.result), executed)


@router.delete("/{user_id}", status_code=204, response_class=Response)
async def delete_user(
    user_id: UUID, ws: WriteSideDep, context: Context, threads: Threads
) -> Response:
    return no_content(await threads.run(ws.users.delete, DeleteUser(user_id), context))

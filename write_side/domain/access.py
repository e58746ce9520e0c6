"""Who may change what: members act on themselves and their own tasks, admins on anyone.

A refusal to touch someone else's user or task looks exactly like "not found", so
that ids cannot be probed; a refusal that reveals nothing (an admin-only command,
or naming another user in a body) is Forbidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from events.users import Role
from write_side.domain.errors import Forbidden, TaskNotFound, UserNotFound


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a command."""

    user_id: UUID
    role: Role = Role.MEMBER

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_act_for(self, owner_id: UUID) -> bool:
        return self.is_admin or self.user_id == owner_id


def require(principal: Principal | None) -> Principal:
    if principal is None:
        raise Forbidden("this command needs an authenticated caller")
    return principal


def require_admin(principal: Principal | None) -> Principal:
    caller = require(principal)
    if not caller.is_admin:
        raise Forbidden("only an admin may do this")
    return caller


def require_user(principal: Principal | None, user_id: UUID) -> None:
    """Another member's user id is answered as if it did not exist."""
    if not require(principal).may_act_for(user_id):
        raise UserNotFound(user_id)


def require_task_owner(principal: Principal | None, task_id: UUID, owner_id: UUID) -> None:
    if not require(principal).may_act_for(owner_id):
        raise TaskNotFound(task_id)


def require_acting_for(principal: Principal | None, user_id: UUID, field: str) -> None:
    """For an owner named in a request body: refusing it reveals nothing."""
    if not require(principal).may_act_for(user_id):
        raise Forbidden(f"you may only act for yourself: {field} must be your own user id")

"""``tasktrail role``: granting the admin role from the operator's shell.

The first admin can only be made here: the API lets admins alone change roles.
The change is an ordinary event whose actor names the operator's login.
"""

from __future__ import annotations

import getpass
import uuid

from events.users import Role
from write_side.bootstrap import WriteSide
from write_side.commands import ChangeRole
from write_side.domain import users
from write_side.domain.access import Principal
from write_side.domain.reservations import Kind
from write_side.executor import CommandContext

OPERATOR = Principal(uuid.UUID(int=0), Role.ADMIN)


class NoSuchUser(Exception):
    pass


def change_role(write_side: WriteSide, login: str, role: Role) -> users.User:
    """``login`` is a username, an email or a user id."""
    user = _find(write_side, login)
    context = CommandContext(
        correlation_id=f"cli-role-{uuid.uuid4().hex[:12]}",
        actor=f"cli:{getpass.getuser()}",
        principal=OPERATOR,
    )
    return write_side.users.change_role(ChangeRole(user.id, role), context).result


def _find(write_side: WriteSide, login: str) -> users.User:
    try:
        user_id = uuid.UUID(login)
    except ValueError:
        kind = Kind.EMAIL if "@" in login else Kind.USERNAME
        user = write_side.users.find(kind, login)
    else:
        user = users.replay(write_side.store.load(user_id))
    if user is None or user.status is users.UserStatus.DELETED:
        raise NoSuchUser(f"no user is {login!r}")
    return user

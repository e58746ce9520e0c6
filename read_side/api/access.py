"""Who may read what: users read their own data, admins read everything.

Someone else's user, task, analytics or audit trail is answered exactly as if it
did not exist (404), so that ids cannot be probed; listing all users is refused
outright (403), as that reveals nothing.
"""

from __future__ import annotations

from common.problems import Problem
from common.tokens import Claims
from events.users import Role


def is_admin(caller: Claims) -> bool:
    return caller.role == Role.ADMIN


def may_read(caller: Claims, owner_id: object) -> bool:
    return is_admin(caller) or str(caller.subject) == str(owner_id)


def require_admin(caller: Claims, what: str) -> None:
    if not is_admin(caller):
        raise Problem(403, f"only an admin may {what}", slug="forbidden", title="Forbidden")

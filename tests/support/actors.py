"""Callers for tests that drive handlers directly, past the HTTP layer."""

from __future__ import annotations

import uuid
from typing import Any

from events.users import Role
from write_side.domain.access import Principal
from write_side.executor import CommandContext

OPERATOR = Principal(uuid.UUID(int=1), Role.ADMIN)


def as_admin(*args: Any, **kwargs: Any) -> CommandContext:
    """A CommandContext whose caller may do anything."""
    kwargs.setdefault("principal", OPERATOR)
    return CommandContext(*args, **kwargs)

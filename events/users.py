"""Events of the User stream."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from events.base import DomainEvent, RecordedEmail, WriteOnly


class Role(StrEnum):
    """What a user may do: members act on their own data, admins on anyone's."""

    MEMBER = "member"
    ADMIN = "admin"


class UserRegistered(DomainEvent):
    type_name = "user.registered"

    email: RecordedEmail
    username: str
    password_hash: Annotated[str, WriteOnly]
    full_name: str | None = None
    bio: str | None = None


class UserProfileChanged(DomainEvent):
    """Carries the whole new profile, so applying it twice changes nothing."""

    type_name = "user.profile_changed"

    full_name: str | None
    bio: str | None


class UserEmailChanged(DomainEvent):
    type_name = "user.email_changed"

    old_email: RecordedEmail
    email: RecordedEmail


class UserUsernameChanged(DomainEvent):
    type_name = "user.username_changed"

    old_username: str
    username: str


class UserPasswordChanged(DomainEvent):
    type_name = "user.password_changed"

    password_hash: Annotated[str, WriteOnly]


class UserDeactivated(DomainEvent):
    type_name = "user.deactivated"


class UserReactivated(DomainEvent):
    type_name = "user.reactivated"


class UserDeleted(DomainEvent):
    type_name = "user.deleted"


class UserRoleChanged(DomainEvent):
    type_name = "user.role_changed"

    role: Role


UserEvent = (
    UserRegistered
    | UserProfileChanged
    | UserEmailChanged
    | UserUsernameChanged
    | UserPasswordChanged
    | UserDeactivated
    | UserReactivated
    | UserDeleted
    | UserRoleChanged
)

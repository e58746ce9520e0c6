"""The User aggregate: ``evolve`` folds events into state, the rest decide events.

Deciders raise a DomainError or return the events to append (empty when the
command changes nothing). Uniqueness of email and username is not decided
here but by reservations, appended in the same transaction by the handler.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from events.envelope import Envelope
from events.users import (
    Role,
    UserDeactivated,
    UserDeleted,
    UserEmailChanged,
    UserEvent,
    UserPasswordChanged,
    UserProfileChanged,
    UserReactivated,
    UserRegistered,
    UserRoleChanged,
    UserUsernameChanged,
)
from write_side.domain.errors import InvalidTransition, UserNotFound


class UserStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class User:
    id: UUID
    version: int
    email: str
    username: str
    password_hash: str
    full_name: str | None
    bio: str | None
    status: UserStatus
    created_at: datetime
    updated_at: datetime
    role: Role = Role.MEMBER


def evolve(state: User | None, envelope: Envelope[UserEvent]) -> User:
    event, at = envelope.event, envelope.occurred_at
    if isinstance(event, UserRegistered):
        return User(
            id=envelope.stream_id,
            version=envelope.stream_version,
            email=event.email,
            username=event.username,
            password_hash=event.password_hash,
            full_name=event.full_name,
            bio=event.bio,
            status=UserStatus.ACTIVE,
            created_at=at,
            updated_at=at,
        )
    assert state is not None, "a user stream starts with UserRegistered"
    state = replace(state, version=envelope.stream_version, updated_at=at)
    match event:
        case UserProfileChanged(full_name=full_name, bio=bio):
            return replace(state, full_name=full_name, bio=bio)
        case UserEmailChanged(email=email):
            return replace(state, email=email)
        case UserUsernameChanged(username=username):
            return replace(state, username=username)
        case UserPasswordChanged(password_hash=password_hash):
            return replace(state, password_hash=password_hash)
        case UserDeactivated():
            return replace(state, status=UserStatus.INACTIVE)
        case UserReactivated():
            return replace(state, status=UserStatus.ACTIVE)
        case UserDeleted():
            return replace(state, status=UserStatus.DELETED)
        case UserRoleChanged(role=role):
            return replace(state, role=role)
    raise TypeError(f"not a user event: {event!r}")


def replay(envelopes: Iterable[Envelope[Any]], state: User | None = None) -> User | None:
    """The user as of the last envelope, folded onto ``state``.

    None if there is nothing to fold or the stream is not a user's.
    """
    for envelope in envelopes:
        if state is None and not isinstance(envelope.event, UserRegistered):
            return None
        state = evolve(state, envelope)
    return state


def existing(user: User | None, user_id: UUID) -> User:
    """The user, unless it never existed or was deleted (both look the same to callers)."""
    if user is None or user.status is UserStatus.DELETED:
        raise UserNotFound(user_id)
    return user


def register(
    *,
    email: str,
    username: str,
    password_hash: str,
    full_name: str | None = None,
    bio: str | None = None,
) -> list[UserEvent]:
    return [
        UserRegistered(
            email=email,
            username=username,
            password_hash=password_hash,
            full_name=full_name,
            bio=bio,
        )
    ]


def change_profile(user: User, *, full_name: str | None, bio: str | None) -> list[UserEvent]:
    if (full_name, bio) == (user.full_name, user.bio):
        return []
    return [UserProfileChanged(full_name=full_name, bio=bio)]


def change_email(user: User, email: str) -> list[UserEvent]:
    changed = UserEmailChanged(old_email=user.email, email=email)
    if changed.email == user.email:  # compared after the schema normalizes the domain part
        return []
    return [changed]


def change_username(user: User, username: str) -> list[UserEvent]:
    if username == user.username:
        return []
    return [UserUsernameChanged(old_username=user.username, username=username)]


def change_password(user: User, password_hash: str) -> list[UserEvent]:
    return [UserPasswordChanged(password_hash=password_hash)]


def deactivate(user: User) -> list[UserEvent]:
    if user.status is not UserStatus.ACTIVE:
        raise InvalidTransition("user", user.status, UserStatus.INACTIVE)
    return [UserDeactivated()]


def reactivate(user: User) -> list[UserEvent]:
    if user.status is not UserStatus.INACTIVE:
        raise InvalidTransition("user", user.status, UserStatus.ACTIVE)
    return [UserReactivated()]


def change_role(user: User, role: Role) -> list[UserEvent]:
    if role is user.role:
        return []
    return [UserRoleChanged(role=role)]


def delete(user: User) -> list[UserEvent]:
    return [UserDeleted()]

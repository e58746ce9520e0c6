"""Every event class tasktrail stores, and the registry built from them."""

from __future__ import annotations

from events.activity import ActivityTracked
from events.base import DomainEvent
from events.registry import EventRegistry, Upcaster
from events.reservations import ValueReleased, ValueReserved
from events.tasks import (
    TaskCancelled,
    TaskCreated,
    TaskDeleted,
    TaskDetailsChanged,
    TaskReopened,
    TaskStatusChanged,
)
from events.users import (
    UserDeactivated,
    UserDeleted,
    UserEmailChanged,
    UserPasswordChanged,
    UserProfileChanged,
    UserReactivated,
    UserRegistered,
    UserRoleChanged,
    UserUsernameChanged,
)

ALL_EVENTS: tuple[type[DomainEvent], ...] = (
    UserRegistered,
    UserProfileChanged,
    UserEmailChanged,
    UserUsernameChanged,
    UserPasswordChanged,
    UserDeactivated,
    UserReactivated,
    UserDeleted,
    UserRoleChanged,
    TaskCreated,
    TaskDetailsChanged,
    TaskStatusChanged,
    TaskCancelled,
    TaskReopened,
    TaskDeleted,
    ActivityTracked,
    ValueReserved,
    ValueReleased,
)

UPCASTERS: tuple[Upcaster, ...] = ()
"""Add an Upcaster here when a stored schema changes; never edit stored events."""


def default_registry() -> EventRegistry:
    return EventRegistry(ALL_EVENTS, UPCASTERS)

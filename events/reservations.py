"""Write-side bookkeeping that makes emails and usernames unique; never published."""

from __future__ import annotations

from uuid import UUID

from events.base import DomainEvent


class ValueReserved(DomainEvent):
    type_name = "reservation.claimed"
    published = False

    owner_id: UUID


class ValueReleased(DomainEvent):
    type_name = "reservation.released"
    published = False

    owner_id: UUID


ReservationEvent = ValueReserved | ValueReleased

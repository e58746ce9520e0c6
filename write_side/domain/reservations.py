"""Reservations make a value (an email, a username) belong to at most one user.

A reservation's stream id is a uuid5 of the normalized value, so two users
claiming one value append to one stream, and the event store's version
uniqueness lets exactly one of them win, whatever the concurrency.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from events.envelope import Envelope
from events.reservations import ReservationEvent, ValueReleased, ValueReserved
from write_side.domain.errors import DuplicateEmail, DuplicateUsername

_NAMESPACE = UUID("5d1c8a0e-3f7b-4d6a-9a52-4b1e2f0c7a11")


class Kind(StrEnum):
    EMAIL = "email"
    USERNAME = "username"


def reservation_id(kind: Kind, value: str) -> UUID:
    return uuid5(_NAMESPACE, f"{kind}:{value.strip().casefold()}")


@dataclass(frozen=True, slots=True)
class Reservation:
    id: UUID
    version: int
    owner_id: UUID | None


def replay(stream_id: UUID, envelopes: Iterable[Envelope[Any]]) -> Reservation:
    """An unclaimed reservation at version 0 when the stream is empty."""
    state = Reservation(stream_id, 0, None)
    for envelope in envelopes:
        event: ReservationEvent = envelope.event
        owner = event.owner_id if isinstance(event, ValueReserved) else None
        state = Reservation(stream_id, envelope.stream_version, owner)
    return state


def claim(reservation: Reservation, kind: Kind, owner_id: UUID) -> list[ReservationEvent]:
    if reservation.owner_id == owner_id:
        return []
    if reservation.owner_id is not None:
        raise DuplicateEmail() if kind is Kind.EMAIL else DuplicateUsername()
    return [ValueReserved(owner_id=owner_id)]


def release(reservation: Reservation, owner_id: UUID) -> list[ReservationEvent]:
    if reservation.owner_id != owner_id:
        return []
    return [ValueReleased(owner_id=owner_id)]

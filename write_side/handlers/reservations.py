"""Claiming and releasing unique values inside a command's transaction."""

from __future__ import annotations

from uuid import UUID

from write_side.domain import reservations
from write_side.domain.reservations import Kind
from write_side.executor import Transaction


def claim(tx: Transaction, kind: Kind, value: str, owner_id: UUID) -> None:
    stream_id = reservations.reservation_id(kind, value)
    reservation = reservations.replay(stream_id, tx.load(stream_id))
    tx.record(stream_id, reservations.claim(reservation, kind, owner_id))


def release(tx: Transaction, kind: Kind, value: str, owner_id: UUID) -> None:
    stream_id = reservations.reservation_id(kind, value)
    reservation = reservations.replay(stream_id, tx.load(stream_id))
    tx.record(stream_id, reservations.release(reservation, owner_id))


def move(tx: Transaction, kind: Kind, old: str, new: str, owner_id: UUID) -> None:
    """Claims ``new`` and releases ``old``, unless both normalize to one value."""
    if reservations.reservation_id(kind, old) == reservations.reservation_id(kind, new):
        return
    claim(tx, kind, new, owner_id)
    release(tx, kind, old, owner_id)

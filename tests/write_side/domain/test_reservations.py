"""Reservations: one owner per normalized email or username."""

from __future__ import annotations

import pytest

from events.reservations import ReservationEvent, ValueReleased, ValueReserved
from tests.write_side.domain.given import OTHER_USER_ID, USER_ID, envelopes
from write_side.domain import reservations
from write_side.domain.errors import Conflict, DuplicateEmail, DuplicateUsername
from write_side.domain.reservations import Kind, Reservation

STREAM_ID = reservations.reservation_id(Kind.EMAIL, "ada@example.com")


def reservation_after(*events: ReservationEvent) -> Reservation:
    return reservations.replay(STREAM_ID, envelopes(STREAM_ID, events))


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize(
    "spelling", ["Ada@Example.com", "  ada@example.com", "ada@example.com\t\n", " ADA@EXAMPLE.COM "]
)
def test_reservation_id_ignores_case_and_surrounding_whitespace(kind: Kind, spelling: str) -> None:
    assert reservations.reservation_id(kind, spelling) == reservations.reservation_id(
        kind, "ada@example.com"
    )


def test_reservation_id_differs_by_kind() -> None:
    assert reservations.reservation_id(Kind.EMAIL, "ada") != reservations.reservation_id(
        Kind.USERNAME, "ada"
    )


def test_reservation_id_differs_by_value() -> None:
    assert reservations.reservation_id(Kind.USERNAME, "ada") != reservations.reservation_id(
        Kind.USERNAME, "ada2"
    )


def test_reservation_id_keeps_inner_whitespace() -> None:
    assert reservations.reservation_id(Kind.USERNAME, "a da") != reservations.reservation_id(
        Kind.USERNAME, "ada"
    )


def test_an_empty_stream_is_unclaimed_at_version_zero() -> None:
    assert reservations.replay(STREAM_ID, []) == Reservation(STREAM_ID, 0, None)


def test_replay_tracks_the_owner_and_version() -> None:
    assert reservation_after(ValueReserved(owner_id=USER_ID)) == Reservation(STREAM_ID, 1, USER_ID)
    assert reservation_after(
        ValueReserved(owner_id=USER_ID), ValueReleased(owner_id=USER_ID)
    ) == Reservation(STREAM_ID, 2, None)


@pytest.mark.parametrize("kind", list(Kind))
def test_claim_an_unclaimed_value(kind: Kind) -> None:
    assert reservations.claim(reservation_after(), kind, USER_ID) == [
        ValueReserved(owner_id=USER_ID)
    ]


@pytest.mark.parametrize(
    ("kind", "error"), [(Kind.EMAIL, DuplicateEmail), (Kind.USERNAME, DuplicateUsername)]
)
def test_claim_of_a_value_another_owner_holds_is_a_duplicate(
    kind: Kind, error: type[Conflict]
) -> None:
    reservation = reservation_after(ValueReserved(owner_id=USER_ID))

    with pytest.raises(Conflict) as raised:
        reservations.claim(reservation, kind, OTHER_USER_ID)

    assert type(raised.value) is error


@pytest.mark.parametrize("kind", list(Kind))
def test_claim_by_the_current_owner_decides_nothing(kind: Kind) -> None:
    reservation = reservation_after(ValueReserved(owner_id=USER_ID))

    assert reservations.claim(reservation, kind, USER_ID) == []


def test_release_by_the_owner() -> None:
    reservation = reservation_after(ValueReserved(owner_id=USER_ID))

    assert reservations.release(reservation, USER_ID) == [ValueReleased(owner_id=USER_ID)]


def test_release_by_a_non_owner_decides_nothing() -> None:
    reservation = reservation_after(ValueReserved(owner_id=USER_ID))

    assert reservations.release(reservation, OTHER_USER_ID) == []


def test_release_of_an_unclaimed_value_decides_nothing() -> None:
    assert reservations.release(reservation_after(), USER_ID) == []


def test_release_of_a_released_value_decides_nothing() -> None:
    reservation = reservation_after(
        ValueReserved(owner_id=USER_ID), ValueReleased(owner_id=USER_ID)
    )

    assert reservations.release(reservation, USER_ID) == []


@pytest.mark.parametrize("kind", list(Kind))
def test_after_release_another_owner_can_claim(kind: Kind) -> None:
    history: list[ReservationEvent] = [
        ValueReserved(owner_id=USER_ID),
        ValueReleased(owner_id=USER_ID),
    ]

    events = reservations.claim(reservation_after(*history), kind, OTHER_USER_ID)

    assert events == [ValueReserved(owner_id=OTHER_USER_ID)]
    assert reservation_after(*history, *events) == Reservation(STREAM_ID, 3, OTHER_USER_ID)


def test_after_a_claim_by_another_owner_the_first_owner_is_refused() -> None:
    history: list[ReservationEvent] = [
        ValueReserved(owner_id=USER_ID),
        ValueReleased(owner_id=USER_ID),
        ValueReserved(owner_id=OTHER_USER_ID),
    ]

    with pytest.raises(DuplicateEmail):
        reservations.claim(reservation_after(*history), Kind.EMAIL, USER_ID)

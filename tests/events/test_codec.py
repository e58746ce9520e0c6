"""The JSON codec: storage keeps everything, the public message drops write-only fields."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import orjson
import pytest
from pydantic import ValidationError

from events.activity import ActivityTracked
from events.base import DomainEvent
from events.catalog import ALL_EVENTS, default_registry
from events.codec import EventCodec
from events.envelope import Envelope
from events.reservations import ValueReleased, ValueReserved
from events.tasks import (
    Priority,
    TaskCancelled,
    TaskCreated,
    TaskDeleted,
    TaskDetailsChanged,
    TaskReopened,
    TaskStatus,
    TaskStatusChanged,
)
from events.users import (
    Role,
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

USER_ID = UUID("00000000-0000-4000-8000-0000000000a1")
STREAM_ID = UUID("00000000-0000-4000-8000-0000000000c1")
EVENT_ID = UUID("00000000-0000-4000-8000-0000000000e1")
OCCURRED_AT = datetime(2024, 5, 1, 9, 30, 15, 123456, tzinfo=UTC)
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2VjcmV0LXNhbHQ$c2VjcmV0LWhhc2g"

SAMPLES: dict[type[DomainEvent], DomainEvent] = {
    UserRegistered: UserRegistered(
        email="ada@example.com",
        username="ada",
        password_hash=PASSWORD_HASH,
        full_name="Ada Lovelace",
        bio="Analyst ✓",
    ),
    UserProfileChanged: UserProfileChanged(full_name="Ada King", bio=None),
    UserEmailChanged: UserEmailChanged(old_email="ada@example.com", email="countess@example.com"),
    UserUsernameChanged: UserUsernameChanged(old_username="ada", username="countess"),
    UserPasswordChanged: UserPasswordChanged(password_hash=PASSWORD_HASH),
    UserDeactivated: UserDeactivated(),
    UserReactivated: UserReactivated(),
    UserDeleted: UserDeleted(),
    UserRoleChanged: UserRoleChanged(role=Role.ADMIN),
    TaskCreated: TaskCreated(
        user_id=USER_ID,
        title="Write tests",
        description="All of them",
        priority=Priority.URGENT,
        due_date=date(2024, 6, 1),
    ),
    TaskDetailsChanged: TaskDetailsChanged(
        title="Write more tests", description=None, priority=Priority.LOW, due_date=None
    ),
    TaskStatusChanged: TaskStatusChanged(
        from_status=TaskStatus.TODO, to_status=TaskStatus.IN_PROGRESS
    ),
    TaskCancelled: TaskCancelled(from_status=TaskStatus.IN_PROGRESS),
    TaskReopened: TaskReopened(from_status=TaskStatus.DONE),
    TaskDeleted: TaskDeleted(user_id=USER_ID),
    ActivityTracked: ActivityTracked(
        event_type="page",
        event_name="dashboard.viewed",
        category="ui",
        user_id=USER_ID,
        properties={"path": "/tasks", "ms": 42, "nested": {"ok": True, "tags": ["a", "b"]}},
        source_service="web",
    ),
    ValueReserved: ValueReserved(owner_id=USER_ID),
    ValueReleased: ValueReleased(owner_id=USER_ID),
}

WITH_PASSWORD_HASH = [UserRegistered, UserPasswordChanged]


def sample(cls: type[DomainEvent]) -> DomainEvent:
    return SAMPLES[cls]


def envelope_of(event: DomainEvent, **overrides: Any) -> Envelope[DomainEvent]:
    fields: dict[str, Any] = {
        "event": event,
        "event_id": EVENT_ID,
        "stream_id": STREAM_ID,
        "stream_version": 7,
        "occurred_at": OCCURRED_AT,
        "correlation_id": "corr-1",
        "causation_id": "cause-1",
        "actor": "user:ada",
        "position": 1234,
    }
    return Envelope(**(fields | overrides))


def round_trip(codec: EventCodec, envelope: Envelope[DomainEvent]) -> Envelope[Any]:
    return codec.decode(
        type_name=envelope.type_name,
        state=codec.encode(envelope),
        stream_id=envelope.stream_id,
        stream_version=envelope.stream_version,
        position=envelope.position,
    )


@pytest.fixture
def codec() -> EventCodec:
    return EventCodec(default_registry())


def test_there_is_a_sample_of_every_event_class() -> None:
    assert set(SAMPLES) == set(ALL_EVENTS)
    assert all(type(event) is cls for cls, event in SAMPLES.items())


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=[cls.type_name for cls in ALL_EVENTS])
def test_every_event_survives_a_round_trip(codec: EventCodec, cls: type[DomainEvent]) -> None:
    envelope = envelope_of(sample(cls))

    decoded = round_trip(codec, envelope)

    assert decoded == envelope
    assert type(decoded.event) is cls


@pytest.mark.parametrize(
    "occurred_at",
    [
        pytest.param(datetime(2024, 5, 1, tzinfo=UTC), id="whole-second-utc"),
        pytest.param(
            datetime(2024, 5, 1, 23, 59, 59, 1, tzinfo=timezone(timedelta(hours=-7))),
            id="negative-offset",
        ),
        pytest.param(
            datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            id="half-hour-offset",
        ),
    ],
)
def test_the_occurrence_time_survives_a_round_trip(
    codec: EventCodec, occurred_at: datetime
) -> None:
    envelope = envelope_of(sample(UserDeleted), occurred_at=occurred_at)

    decoded = round_trip(codec, envelope)

    assert decoded.occurred_at == occurred_at
    assert decoded.occurred_at.utcoffset() == occurred_at.utcoffset()


def test_absent_metadata_survives_a_round_trip(codec: EventCodec) -> None:
    envelope = envelope_of(
        sample(TaskDeleted), correlation_id=None, causation_id=None, actor=None, position=None
    )

    assert round_trip(codec, envelope) == envelope


def test_stream_position_and_version_come_from_the_store_not_the_state(
    codec: EventCodec,
) -> None:
    state = codec.encode(envelope_of(sample(TaskDeleted)))
    other_stream = UUID("00000000-0000-4000-8000-0000000000c2")

    decoded = codec.decode(
        type_name=TaskDeleted.type_name,
        state=state,
        stream_id=other_stream,
        stream_version=3,
        position=99,
    )

    assert (decoded.stream_id, decoded.stream_version, decoded.position) == (other_stream, 3, 99)
    assert set(orjson.loads(state)) == {"v", "meta", "data"}
    assert str(STREAM_ID).encode() not in state


@pytest.mark.parametrize("field", ["email", "old_email"])
def test_an_email_is_checked_when_recorded_not_when_read_back(
    codec: EventCodec, field: str
) -> None:
    """Reading back trusts what was checked on the way in (and stays readable if the
    checker grows stricter later)."""
    event = UserEmailChanged(old_email="a@example.com", email="b@example.com")
    with pytest.raises(ValidationError):
        UserEmailChanged.model_validate(event.model_dump() | {field: "not an address"})
    state = orjson.loads(codec.encode(envelope_of(event)))
    state["data"][field] = "not an address"

    decoded = codec.decode(
        type_name=UserEmailChanged.type_name,
        state=orjson.dumps(state),
        stream_id=STREAM_ID,
        stream_version=1,
    )

    assert getattr(decoded.event, field) == "not an address"


def test_the_stored_state_records_the_schema_version(codec: EventCodec) -> None:
    stored = orjson.loads(codec.encode(envelope_of(sample(TaskCreated))))

    assert stored["v"] == TaskCreated.schema_version
    assert stored["meta"]["event_id"] == str(EVENT_ID)


@pytest.mark.parametrize("cls", WITH_PASSWORD_HASH, ids=lambda cls: cls.type_name)
def test_storage_keeps_the_password_hash(codec: EventCodec, cls: type[DomainEvent]) -> None:
    stored = orjson.loads(codec.encode(envelope_of(sample(cls))))

    assert stored["data"]["password_hash"] == PASSWORD_HASH


@pytest.mark.parametrize("cls", WITH_PASSWORD_HASH, ids=lambda cls: cls.type_name)
def test_the_public_message_never_contains_the_password_hash(
    codec: EventCodec, cls: type[DomainEvent]
) -> None:
    message = codec.public_message(envelope_of(sample(cls)))

    assert "password_hash" not in orjson.loads(message)["data"]
    assert PASSWORD_HASH.encode() not in message
    assert b"password_hash" not in message


def test_the_public_message_keeps_the_other_fields_of_a_registration(codec: EventCodec) -> None:
    data = orjson.loads(codec.public_message(envelope_of(sample(UserRegistered))))["data"]

    assert data == {
        "email": "ada@example.com",
        "username": "ada",
        "full_name": "Ada Lovelace",
        "bio": "Analyst ✓",
    }


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=[cls.type_name for cls in ALL_EVENTS])
def test_the_public_message_carries_metadata_and_payload(
    codec: EventCodec, cls: type[DomainEvent]
) -> None:
    event = sample(cls)

    message = orjson.loads(codec.public_message(envelope_of(event)))

    assert message == {
        "event_id": str(EVENT_ID),
        "type": cls.type_name,
        "schema_version": cls.schema_version,
        "stream_id": str(STREAM_ID),
        "stream_version": 7,
        "position": 1234,
        "occurred_at": OCCURRED_AT.isoformat(),
        "correlation_id": "corr-1",
        "causation_id": "cause-1",
        "actor": "user:ada",
        "data": event.public_payload(),
    }


@pytest.mark.parametrize("cls", WITH_PASSWORD_HASH, ids=lambda cls: cls.type_name)
def test_password_hash_is_the_write_only_field(cls: type[DomainEvent]) -> None:
    assert cls.write_only_fields() == frozenset({"password_hash"})


@pytest.mark.parametrize(
    "cls",
    [cls for cls in ALL_EVENTS if cls not in WITH_PASSWORD_HASH],
    ids=lambda cls: cls.type_name,
)
def test_other_events_have_no_write_only_fields(cls: type[DomainEvent]) -> None:
    assert cls.write_only_fields() == frozenset()
    assert sample(cls).public_payload() == sample(cls).model_dump(mode="json")


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=[cls.type_name for cls in ALL_EVENTS])
def test_the_aggregate_is_the_type_name_prefix(cls: type[DomainEvent]) -> None:
    assert cls.aggregate() == cls.type_name.split(".")[0]
    assert cls.aggregate() in {"user", "task", "activity", "reservation"}


def test_only_reservation_bookkeeping_is_unpublished() -> None:
    assert {cls for cls in ALL_EVENTS if not cls.published} == {ValueReserved, ValueReleased}


def test_events_are_immutable() -> None:
    event = UserProfileChanged(full_name="Ada", bio=None)

    with pytest.raises(ValueError, match="frozen"):
        event.full_name = "Other"  # type: ignore[misc]

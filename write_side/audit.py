"""Audit replay: who changed a stream, when, on whose request, and its state at any point.

An operator tool, so it reads the event store directly: read models keep only the
latest state, while an audit asks what a user or task looked like *then*. Payloads
go through the same public form the relay publishes and states drop secret fields,
so a password hash never leaves this module.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, Literal, cast
from uuid import UUID

import orjson
from psycopg.sql import SQL, Identifier

from events.base import DomainEvent
from events.envelope import Envelope
from write_side.domain import activity, reservations, tasks, users
from write_side.postgres import EVENTS_TABLE, PostgresEventStore, unavailable_as_store_error

Kind = Literal["user", "task", "activity", "reservation", "unknown"]

_SECRET_FIELDS = frozenset({"password_hash"})
_Replay = Callable[[UUID, Sequence[Envelope[Any]]], object | None]
_REPLAYS: dict[Kind, _Replay] = {
    "user": lambda _, stream: users.replay(stream),
    "task": lambda _, stream: tasks.replay(stream),
    "activity": lambda _, stream: activity.replay(stream),
    "reservation": reservations.replay,
}


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One stored event and its metadata; ``changes`` is its public payload."""

    stream_id: UUID
    position: int
    version: int
    occurred_at: datetime
    type: str
    event_id: UUID
    actor: str | None
    correlation_id: str | None
    causation_id: str | None
    changes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditTrail:
    """A stream's events up to a cut, and its state there (JSON types, no secrets).

    ``entries`` is empty, and ``state`` None, when the cut precedes the stream's
    first event; ``latest_version`` is the stream's version now, whatever the cut.
    """

    stream_id: UUID
    kind: Kind
    entries: list[AuditEntry]
    state: dict[str, Any] | None
    latest_version: int


def audit_stream(
    store: PostgresEventStore,
    stream_id: UUID,
    *,
    as_of: datetime | None = None,
    version: int | None = None,
) -> AuditTrail | None:
    """The stream's trail cut at a version or a time (a naive ``as_of`` is UTC).

    None when the stream has no events. A time cut keeps the events up to the first
    one that occurred after it, so the state is always a replay of a stream prefix.
    """
    if as_of is not None and version is not None:
        raise ValueError("cut the stream at a time or at a version, not both")
    if version is not None and version < 1:
        raise ValueError(f"stream versions start at 1, not {version}")
    stream = store.read_stream(stream_id)
    if not stream:
        return None
    kept = stream
    if version is not None:
        kept = [e for e in stream if e.stream_version <= version]
    elif as_of is not None:
        cut = as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=UTC)
        kept = list(itertools.takewhile(lambda e: e.occurred_at <= cut, stream))
    name = type(stream[0].event).aggregate()
    kind: Kind = cast(Kind, name) if name in _REPLAYS else "unknown"
    replay = _REPLAYS.get(kind)
    state = replay(stream_id, kept) if replay is not None and kept else None
    return AuditTrail(
        stream_id=stream_id,
        kind=kind,
        entries=[_entry(store, e) for e in kept],
        state=_public_state(state) if state is not None else None,
        latest_version=stream[-1].stream_version,
    )


def events_by_correlation(
    store: PostgresEventStore, correlation_id: str, *, limit: int = 1000
) -> list[AuditEntry]:
    """Every event one request caused, across streams, in position order (at most ``limit``).

    The correlation id lives inside the stored JSON, which has no index, so this
    scans the events table: fine for an operator tool, never for a request path.
    It looks for the bytes ``"correlation_id":"<id>"`` rather than parsing each row
    as jsonb, which fails for the whole table once any event holds a \\u0000
    (PostgreSQL's text cannot); candidates are then checked decoded.
    """
    needle = b'"correlation_id":' + orjson.dumps(correlation_id)
    query = SQL(
        "SELECT originator_id, originator_version, notification_id, topic, state FROM {}.{} "
        "WHERE position(%s in state) > 0 ORDER BY notification_id LIMIT %s"
    ).format(Identifier(store.datastore.schema), Identifier(EVENTS_TABLE))
    with unavailable_as_store_error(), store.datastore.get_connection() as conn:
        rows = conn.execute(query, (needle, limit)).fetchall()
    decode = store.codec.decode
    found = [
        decode(
            type_name=row["topic"],
            state=bytes(row["state"]),
            stream_id=UUID(str(row["originator_id"])),
            stream_version=row["originator_version"],
            position=row["notification_id"],
        )
        for row in rows
    ]
    return [_entry(store, e) for e in found if e.correlation_id == correlation_id]


def _entry(store: PostgresEventStore, envelope: Envelope[Any]) -> AuditEntry:
    # Reservation events are never published, but their public payload is still the
    # safe form to show; to_published does not filter on ``published``.
    published = store.codec.to_published(envelope)
    return AuditEntry(
        stream_id=envelope.stream_id,
        position=published.position,
        version=envelope.stream_version,
        occurred_at=envelope.occurred_at,
        type=envelope.type_name,
        event_id=envelope.event_id,
        actor=envelope.actor,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.causation_id,
        changes=published.data,
    )


def _public_state(state: Any) -> dict[str, Any]:
    public: dict[str, Any] = _jsonable(asdict(state))
    return public


def _jsonable(value: Any) -> Any:
    """JSON types for a state's values, with secret fields dropped at every depth."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items() if k not in _SECRET_FIELDS}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, DomainEvent):
        return _jsonable(value.public_payload())
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value

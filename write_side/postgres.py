"""The event store adapter on the `eventsourcing` library's PostgreSQL recorder.

The library's recorder gives us the table, and optimistic concurrency through the
(stream, version) primary key. We append as it does (an EXCLUSIVE table lock, so
that global positions are commit-ordered and a tailing reader never skips a gap;
a NOTIFY), plus an idempotency record per command in the same transaction, all
in one call of a server-side function, as the library's own insert function and
Marten's append function do: the library's append holds the lock across three
round trips, and a pipelined transaction of five statements cost this process
more CPU than everything else a CreateTask does (see append_many). The library
retries inserts and selects 10 times with pauses; we call the undecorated methods
so that an outage becomes a prompt 503 and the retry policy stays ours.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

import psycopg
import structlog
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier, Literal

from common.pools import PingWhenIdle
from events.codec import EventCodec
from events.envelope import Envelope
from write_side.event_store import (
    Append,
    CommitOutcomeUnknown,
    ConcurrencyConflict,
    IdempotencyKeyTaken,
    IdempotencyRecord,
    ReadStreamMoved,
    StoreUnavailable,
)

EVENTS_TABLE = "stored_events"
IDEMPOTENCY_TABLE = "idempotency_keys"
APPEND_FUNCTION = "tasktrail_append"
READ_MOVED = "tasktrail_read_moved"
"""The constraint name of the error an append raises when a stream it read moved on."""
POSITIONS_TABLE = "positions"
log = structlog.get_logger("tasktrail.event_store")
_SCHEMA_LOCK = int.from_bytes(hashlib.sha256(b"tasktrail schema").digest()[:8], "big", signed=True)

_max_notification_id = PostgresApplicationRecorder.max_notification_id.__wrapped__
_select_notifications = PostgresApplicationRecorder.select_notifications.__wrapped__


def ensure_database(dsn: str) -> None:
    """Creates the DSN's database if it does not exist (safe when racing)."""
    params = conninfo_to_dict(dsn)
    name = str(params.get("dbname") or "postgres")
    admin = psycopg.conninfo.make_conninfo(dsn, dbname="postgres")
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        with contextlib.suppress(pg_errors.DuplicateDatabase, pg_errors.UniqueViolation):
            conn.execute(SQL("CREATE DATABASE {}").format(Identifier(name)))


@dataclass(frozen=True, slots=True)
class _Backend:
    """One server session: its pid, and when it started, to tell it from a later
    session that reuses the pid."""

    pid: int
    started: datetime


class _Datastore(PostgresDatastore):
    """The library's datastore plus a statement timeout on every pooled connection, so
    that no query (a relay read, an audit) can hang on a stuck server or a lock, a
    pre-ping for idle connections only, and each connection's server session."""

    def __init__(self, *args: Any, statement_timeout: float, **kwargs: Any) -> None:
        self.statement_timeout = statement_timeout
        self.backends: WeakKeyDictionary[psycopg.Connection[Any], _Backend] = WeakKeyDictionary()
        super().__init__(*args, pre_ping=False, **kwargs)
        # The library builds the pool itself and offers only an every-time pre-ping.
        self.pings = PingWhenIdle()
        self.pool._check = self.pings.check
        self.pool._reset = self.pings.returned

    def after_connect_func(self) -> Callable[[psycopg.Connection[Any]], None]:
        configure = super().after_connect_func()
        statement = SQL("SET statement_timeout = '{0}ms'").format(
            int(self.statement_timeout * 1000)
        )

        backends = self.backends  # not self: the pool must not keep the datastore alive

        def after_connect(conn: psycopg.Connection[Any]) -> None:
            configure(conn)
            conn.execute(statement)
            # The append function checks read streams after taking the lock, which
            # sees appends committed meanwhile only under READ COMMITTED: a database
            # whose default is stricter must not make that check blind.
            conn.execute("SET default_transaction_isolation = 'read committed'")
            row = conn.execute(
                "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"
            ).fetchone()
            assert row is not None, "a session sees itself"
            backends[conn] = _Backend(row["pid"], row["backend_start"])

        return after_connect


def datastore_from_dsn(
    dsn: str,
    *,
    pool_size: int,
    max_overflow: int,
    timeout: float,
    lock_timeout: int,
    statement_timeout: float = 30.0,
) -> _Datastore:
    """``timeout`` bounds both the wait for a pooled connection and opening a new one."""
    params = conninfo_to_dict(dsn)
    datastore = _Datastore(
        dbname=str(params.get("dbname") or "postgres"),
        host=str(params.get("host") or "127.0.0.1"),
        port=str(params.get("port") or 5432),
        user=str(params.get("user") or "postgres"),
        password=str(params.get("password") or ""),
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_timeout=timeout,
        lock_timeout=lock_timeout,
        idle_in_transaction_session_timeout=10,
        statement_timeout=statement_timeout,
    )
    connect_args = datastore.pool.kwargs
    assert isinstance(connect_args, dict), "the library passes the pool a dict"
    connect_args["connect_timeout"] = max(1, round(timeout))  # libpq's, in whole seconds
    return datastore


class _Recorder(PostgresApplicationRecorder):
    """The library's recorder plus an idempotency table written in the same transaction."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        super().__init__(datastore, events_table_name=EVENTS_TABLE)
        table = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(IDEMPOTENCY_TABLE))
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                "key text PRIMARY KEY, fingerprint text NOT NULL, stream_id uuid NOT NULL, "
                "stream_version bigint NOT NULL, position bigint NOT NULL, "
                "created_at timestamptz NOT NULL DEFAULT now())"
            ).format(table)
        )
        positions = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(POSITIONS_TABLE))
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, position bigint NOT NULL)"
            ).format(positions)
        )
        self.select_position = SQL("SELECT position FROM {} WHERE name = %s").format(positions)
        self.upsert_position = SQL(
            "INSERT INTO {} (name, position) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position"
        ).format(positions)
        events = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(EVENTS_TABLE))
        self.select_stream = SQL(
            "SELECT originator_version, notification_id, topic, state FROM {} "
            "WHERE originator_id = %s AND originator_version > %s AND originator_version <= %s "
            "ORDER BY originator_version"
        ).format(events)
        # One call of a server-side function appends, in a transaction of its own:
        # the lock (commit-ordered positions), the NOTIFY, the events and each
        # command's idempotency record, at the position of the command's last event,
        # found by (stream, version). The lock is held for the server's work only.
        # A stream a command read must be where it was read, and not be written in
        # the same call either: in a group, another command may move it first (the
        # group then falls back to one command at a time, which sorts it out).
        append = Identifier(datastore.schema, APPEND_FUNCTION)
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {append}("
                "ids uuid[], versions bigint[], topics text[], states bytea[], "
                "keys text[], fingerprints text[], key_streams uuid[], key_versions bigint[], "
                "last_ids uuid[], last_versions bigint[], read_ids uuid[], "
                "read_versions bigint[], lock_wait text) "
                "RETURNS TABLE (at bigint, stream uuid, version bigint) "
                "LANGUAGE plpgsql AS $$ BEGIN "
                "PERFORM set_config('lock_timeout', lock_wait, true); "
                "LOCK TABLE {events} IN EXCLUSIVE MODE; "
                "IF EXISTS (SELECT FROM unnest(read_ids, read_versions) AS r(id, version) "
                "WHERE r.id = ANY(ids) OR coalesce((SELECT max(originator_version) "
                "FROM {events} WHERE originator_id = r.id), 0) <> r.version) THEN "
                "RAISE unique_violation USING CONSTRAINT = {read_moved}, "
                "MESSAGE = 'a stream the command read has moved on'; END IF; "
                "NOTIFY {channel}; "
                "RETURN QUERY WITH e AS ("
                "INSERT INTO {events} (originator_id, originator_version, topic, state) "
                "SELECT * FROM unnest(ids, versions, topics, states) "
                "RETURNING notification_id, originator_id, originator_version), "
                "k AS (INSERT INTO {keys} (key, fingerprint, stream_id, stream_version, position) "
                "SELECT k.key, k.fingerprint, k.stream_id, k.stream_version, e.notification_id "
                "FROM unnest(keys, fingerprints, key_streams, key_versions, last_ids, "
                "last_versions) AS k(key, fingerprint, stream_id, stream_version, last_id, "
                "last_version) JOIN e ON e.originator_id = k.last_id "
                "AND e.originator_version = k.last_version) "
                "SELECT e.notification_id, e.originator_id, e.originator_version FROM e; "
                "END $$"
            ).format(
                append=append,
                events=events,
                channel=Identifier(self.channel_name),
                keys=table,
                read_moved=Literal(READ_MOVED),
            )
        )
        self.call_append = SQL(
            "SELECT at, stream, version FROM {}(%s::uuid[], %s::bigint[], %s::text[], "
            "%s::bytea[], %s::text[], %s::text[], %s::uuid[], %s::bigint[], %s::uuid[], "
            "%s::bigint[], %s::uuid[], %s::bigint[], %s)"
        ).format(append)
        self.lock_wait = f"{datastore.lock_timeout}s"
        # Ends a session whose client is gone, waiting up to the given milliseconds for
        # it to exit; no row once it has (or the server restarted).
        self.end_backend = SQL(
            "SELECT pg_terminate_backend(pid, %s) FROM pg_stat_activity "
            "WHERE pid = %s AND backend_start = %s"
        )
        self.select_appended = SQL(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.state "
            "FROM {} e JOIN unnest(%s::uuid[], %s::bigint[]) AS k(id, version) "
            "ON e.originator_id = k.id AND e.originator_version = k.version"
        ).format(events)
        self.select_idempotency = SQL(
            "SELECT key, fingerprint, stream_id, stream_version, position FROM {} WHERE key = %s"
        ).format(table)


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as columns, to send as arrays to unnest()."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


@contextlib.contextmanager
def unavailable_as_store_error() -> Iterator[None]:
    """Connection failures and timeouts become StoreUnavailable (a 503 at the edge)."""
    try:
        yield
    except (OperationalError, InterfaceError) as error:
        raise StoreUnavailable(str(error)) from error


class _Unanswered(Exception):
    """The connection broke after COMMIT was sent: the transaction may have committed."""

    def __init__(self, backend: _Backend | None) -> None:
        super().__init__("no answer to COMMIT")
        self.backend = backend


def _answer_lost(error: Exception) -> bool:
    """True when the server did not answer the transaction's statements itself (the
    connection broke, or the server shut down mid-session), rather than refusing one,
    which aborts the transaction."""
    cause = error.__cause__
    state = cause.sqlstate if isinstance(cause, psycopg.Error) else None
    return state is None or state.startswith("08") or state in ("57P01", "57P02")


def _violated_constraint(error: IntegrityError) -> str:
    cause = error.__cause__
    if isinstance(cause, psycopg.Error) and cause.diag.constraint_name:
        return cause.diag.constraint_name
    return ""


class PostgresEventStore:
    def __init__(
        self, datastore: _Datastore, codec: EventCodec, *, settle_timeout: float = 8.0
    ) -> None:
        """``settle_timeout``: seconds an append whose connection broke after COMMIT
        keeps trying to learn whether it committed (see _settle)."""
        self.datastore = datastore
        self.codec = codec
        self.recorder = _Recorder(datastore)
        self.settle_timeout = settle_timeout

    def create_tables(self) -> None:
        """One process at a time: PostgreSQL's CREATE ... IF NOT EXISTS is not safe
        against itself, and two processes starting together (a relay and a query
        server) failed with "tuple concurrently updated"."""
        with unavailable_as_store_error(), self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
            try:
                self.recorder.create_table()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))

    def close(self) -> None:
        self.datastore.close()

    def load(self, stream_id: UUID, *, up_to_version: int | None = None) -> list[Envelope[Any]]:
        return self.read_stream(stream_id, up_to_version=up_to_version)

    def append(
        self,
        envelopes: Sequence[Envelope[Any]],
        *,
        idempotency: IdempotencyRecord | None = None,
        reads: Mapping[UUID, int] | None = None,
    ) -> list[int]:
        return self.append_many([Append(envelopes, idempotency, reads or {})])[0]

    def append_many(self, commands: Sequence[Append]) -> list[list[int]]:
        """Appends several commands' events in one transaction: one table lock, one
        commit. All or nothing: one conflict fails them all (see GroupCommit).

        One statement (the append function) in autocommit, so the lock is held for
        the server's work and the commit only, never across a round trip back to
        this process (where the thread may wait for the GIL). It replaced a pipelined
        BEGIN, SET LOCAL, LOCK, NOTIFY, INSERT, COMMIT: a CreateTask's CPU in this
        process went from about 830 to 475 µs (psycopg's per-statement work).
        """
        events = [
            (e.stream_id, e.stream_version, e.type_name, self.codec.encode(e))
            for command in commands
            for e in command.envelopes
        ]
        if not events:
            return [[] for _ in commands]
        keys = [
            (r.key, r.fingerprint, r.stream_id, r.stream_version,
             c.envelopes[-1].stream_id, c.envelopes[-1].stream_version)
            for c in commands
            if (r := c.idempotency) is not None and c.envelopes
        ]  # fmt: skip
        reads = [(stream, version) for c in commands for stream, version in c.reads.items()]
        columns = _columns(events, 4) + _columns(keys, 6) + _columns(reads, 2)
        try:
            with unavailable_as_store_error():
                rows = self._insert(columns)
        except IntegrityError as error:
            violated = _violated_constraint(error)
            if violated.startswith(IDEMPOTENCY_TABLE):
                raise IdempotencyKeyTaken(str(error)) from error
            if violated == READ_MOVED:
                raise ReadStreamMoved(str(error)) from error
            raise ConcurrencyConflict(str(error)) from error
        except _Unanswered as unanswered:
            rows = self._settle(unanswered, events)
        position = {(stream, version): at for at, stream, version in rows}
        ids = iter(position[stream, version] for stream, version, *_ in events)
        return [list(itertools.islice(ids, len(c.envelopes))) for c in commands]

    def _insert(self, columns: list[list[Any]]) -> list[tuple[Any, ...]]:
        """Raises _Unanswered if the connection broke once the statement was sent."""
        committing, backend = False, None
        try:
            with (
                self.datastore.get_connection() as conn,
                conn.cursor(row_factory=tuple_row) as curs,
            ):
                # One statement, committed as it ends (the connection is in autocommit):
                # once it is sent, a broken connection leaves the outcome to find out.
                committing, backend = True, self.datastore.backends.get(conn)
                curs.execute(
                    self.recorder.call_append, [*columns, self.recorder.lock_wait], prepare=True
                )
                return curs.fetchall()
        except (OperationalError, InterfaceError) as error:
            if committing and _answer_lost(error):
                raise _Unanswered(backend) from error
            raise

    def _settle(self, unanswered: _Unanswered, events: list[tuple[Any, ...]]) -> list[Any]:
        """Finds out whether a transaction whose answer was lost committed.

        A 503 must mean nothing was appended, and a lost answer to COMMIT means
        nothing either way: the server may have committed and died before replying.
        The session may even still be running, its client gone, and commit later, so
        it is ended first (or found gone: a restarted server ended it); only then
        does looking for its events give an answer that cannot change. Returns the
        stored rows if it committed; raises StoreUnavailable if it did not, and
        CommitOutcomeUnknown if the server stays unreachable for ``settle_timeout``
        (give or take one wait for a pooled connection). A session is known by its
        pid and start time, so this needs direct or session-pooled connections, as
        LISTEN and prepared statements do: behind a transaction-pooling proxy a pid
        is not the session's own.
        """
        error = unanswered.__cause__
        backend = unanswered.backend
        if backend is None:
            raise CommitOutcomeUnknown(f"the connection broke while committing: {error}")
        deadline = time.monotonic() + self.settle_timeout
        keys = _columns([(stream, version) for stream, version, *_ in events], 2)
        while True:
            try:
                with (
                    self.datastore.get_connection() as conn,
                    conn.cursor(row_factory=tuple_row) as curs,
                ):
                    wait_ms = max(1, int((deadline - time.monotonic()) * 1000))
                    ended = curs.execute(
                        self.recorder.end_backend, (wait_ms, backend.pid, backend.started)
                    ).fetchall()
                    if not ended:  # no such session any more
                        found = curs.execute(self.recorder.select_appended, keys).fetchall()
                        break
            except (OperationalError, InterfaceError):
                pass
            if time.monotonic() >= deadline:
                raise CommitOutcomeUnknown(
                    f"the connection broke while committing, and the event store did not "
                    f"come back within {self.settle_timeout:g} s to tell: {error}"
                ) from error
            time.sleep(0.2)
        stored = {(stream, version): bytes(state) for _, stream, version, state in found}
        committed = all(
            stored.get((stream, version)) == state for stream, version, _, state in events
        )
        log.warning("append's commit went unanswered", committed=committed, error=str(error))
        if not committed:
            raise StoreUnavailable(f"the connection broke before committing: {error}") from error
        return [(at, stream, version) for at, stream, version, _ in found]

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        with unavailable_as_store_error(), self.datastore.get_connection() as conn:
            row = conn.execute(self.recorder.select_idempotency, (key,)).fetchone()
        return IdempotencyRecord(**row) if row else None

    def head(self) -> int:
        with unavailable_as_store_error():
            return int(_max_notification_id(self.recorder) or 0)

    def read_all(self, after: int, limit: int) -> list[Envelope[Any]]:
        """Stored events with positions greater than ``after``, in position order.

        Positions are commit-ordered (the append lock), so reading on from the
        last position seen never skips an event that commits later.
        """
        with unavailable_as_store_error():
            rows = _select_notifications(self.recorder, after, limit, inclusive_of_start=False)
        decode = self.codec.decode
        return [
            decode(
                type_name=n.topic,
                state=n.state,
                stream_id=UUID(str(n.originator_id)),
                stream_version=n.originator_version,
                position=n.id,
            )
            for n in rows
        ]

    def read_stream(
        self, stream_id: UUID, *, after_version: int = 0, up_to_version: int | None = None
    ) -> list[Envelope[Any]]:
        """A stream's events in a version range, with their global positions."""
        upper = up_to_version if up_to_version is not None else 2**62
        with (
            unavailable_as_store_error(),
            self.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row) as curs,
        ):
            curs.execute(
                self.recorder.select_stream, (stream_id, after_version, upper), prepare=True
            )
            rows = curs.fetchall()
        decode = self.codec.decode
        return [
            decode(
                type_name=topic,
                state=state,
                stream_id=stream_id,
                stream_version=version,
                position=position,
            )
            for version, position, topic, state in rows
        ]

    def get_position(self, name: str) -> int:
        """A reader's stored position (the relay's), 0 if it never stored one."""
        with unavailable_as_store_error(), self.datastore.get_connection() as conn:
            row = conn.execute(self.recorder.select_position, (name,)).fetchone()
        return int(row["position"]) if row else 0

    def set_position(self, name: str, position: int) -> None:
        with unavailable_as_store_error(), self.datastore.get_connection() as conn:
            conn.execute(self.recorder.upsert_position, (name, position))

    @property
    def channel(self) -> str:
        """The LISTEN/NOTIFY channel the recorder notifies on every append."""
        return self.recorder.channel_name

    def ping(self) -> None:
        with unavailable_as_store_error(), self.datastore.get_connection() as conn:
            conn.execute("SELECT 1")


@contextlib.contextmanager
def advisory_lock(dsn: str, name: str) -> Iterator[bool]:
    """Holds a PostgreSQL session-level advisory lock on ``name`` while the block runs.

    Yields False, without waiting, if another session holds it. A process that
    dies releases it with its connection, so a lock can never be left behind.
    """
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        acquired = bool(row and row[0])
        try:
            yield acquired
        finally:
            if acquired:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

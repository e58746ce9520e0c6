"""The PostgreSQL event store adapter against a real server."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.sql import SQL, Identifier
from psycopg_pool import ConnectionPool

from events.base import DomainEvent
from events.catalog import default_registry
from events.codec import EventCodec
from events.envelope import Envelope
from events.tasks import Priority, TaskCreated, TaskDetailsChanged
from events.users import UserRegistered
from tests.conftest import BASE_DSN
from tests.support.tcp_proxy import TcpProxy
from write_side.bootstrap import WriteSide
from write_side.event_store import (
    Append,
    CommitOutcomeUnknown,
    ConcurrencyConflict,
    IdempotencyKeyTaken,
    IdempotencyRecord,
    ReadStreamMoved,
    StoreUnavailable,
)
from write_side.postgres import PostgresEventStore, datastore_from_dsn, ensure_database


def envelope(event: DomainEvent, stream_id: uuid.UUID, version: int) -> Envelope[DomainEvent]:
    return Envelope(event, uuid.uuid4(), stream_id, version, datetime.now(UTC), "corr", None, "me")


def a_task_created() -> TaskCreated:
    return TaskCreated(user_id=uuid.uuid4(), title="t")


def test_ensure_database_creates_a_missing_database() -> None:
    name = f"tasktrail_test_{uuid.uuid4().hex[:10]}"
    try:
        ensure_database(make_conninfo(BASE_DSN, dbname=name))
        ensure_database(make_conninfo(BASE_DSN, dbname=name))  # and tolerates an existing one
        with psycopg.connect(BASE_DSN) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            assert found.fetchone() == (1,)
    finally:
        with psycopg.connect(BASE_DSN, autocommit=True) as conn:
            conn.execute(SQL("DROP DATABASE IF EXISTS {}").format(Identifier(name)))


def test_append_then_load_round_trips_events_and_metadata(write_side: WriteSide) -> None:
    store, stream = write_side.store, uuid.uuid4()
    first = envelope(a_task_created(), stream, 1)
    second = envelope(
        TaskDetailsChanged(title="u", description=None, priority=Priority.HIGH, due_date=None),
        stream,
        2,
    )

    positions = store.append([first, second])

    assert positions[1] == positions[0] + 1
    assert store.head() >= positions[1]
    stored = [
        dataclasses.replace(first, position=positions[0]),
        dataclasses.replace(second, position=positions[1]),
    ]
    assert store.load(stream) == stored
    assert store.load(stream, up_to_version=1) == stored[:1]
    assert store.load(uuid.uuid4()) == []


def test_a_taken_version_conflicts_and_nothing_of_the_batch_is_stored(
    write_side: WriteSide,
) -> None:
    store, taken, other = write_side.store, uuid.uuid4(), uuid.uuid4()
    store.append([envelope(a_task_created(), taken, 1)])

    with pytest.raises(ConcurrencyConflict):
        store.append([envelope(a_task_created(), other, 1), envelope(a_task_created(), taken, 1)])

    assert store.load(other) == []
    assert len(store.load(taken)) == 1


def test_idempotency_record_is_written_with_the_events_or_not_at_all(
    write_side: WriteSide,
) -> None:
    store, stream, key = write_side.store, uuid.uuid4(), uuid.uuid4().hex
    record = IdempotencyRecord(key, "fp", stream, 1)

    [position] = store.append([envelope(a_task_created(), stream, 1)], idempotency=record)
    late = uuid.uuid4()
    with pytest.raises(IdempotencyKeyTaken):
        store.append([envelope(a_task_created(), late, 1)], idempotency=record)

    assert store.find_idempotency(key) == IdempotencyRecord(key, "fp", stream, 1, position)
    assert store.load(late) == []
    assert store.find_idempotency("never-used") is None


def test_commands_appended_together_keep_their_own_positions_and_keys(
    write_side: WriteSide,
) -> None:
    """Each record points at its command's last event, even on another stream."""
    store = write_side.store
    user, reservation, task = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    first = [envelope(a_task_created(), user, 1), envelope(a_task_created(), reservation, 1)]
    second = [envelope(a_task_created(), task, 1)]
    keys = uuid.uuid4().hex, uuid.uuid4().hex

    positions = store.append_many(
        [
            Append(first, IdempotencyRecord(keys[0], "fp1", user, 1)),
            Append([]),
            Append(second, IdempotencyRecord(keys[1], "fp2", task, 1)),
        ]
    )

    assert [len(p) for p in positions] == [2, 0, 1]
    assert positions[0][1] == positions[0][0] + 1
    assert positions[2][0] == positions[0][1] + 1
    assert store.find_idempotency(keys[0]) == IdempotencyRecord(
        keys[0], "fp1", user, 1, positions[0][1]
    )
    assert store.find_idempotency(keys[1]) == IdempotencyRecord(
        keys[1], "fp2", task, 1, positions[2][0]
    )
    assert [e.position for e in store.read_stream(reservation)] == [positions[0][1]]


def test_password_hashes_are_stored_for_the_write_side_only(write_side: WriteSide) -> None:
    stream = uuid.uuid4()
    registered = UserRegistered(email="a@example.com", username="abc", password_hash="$argon2id$x")
    write_side.store.append([envelope(registered, stream, 1)])

    [loaded] = write_side.store.read_stream(stream)

    assert loaded.event.password_hash == "$argon2id$x"
    assert b"argon2" not in write_side.store.codec.public_message(loaded)


def test_read_all_and_read_stream_carry_commit_ordered_positions(write_side: WriteSide) -> None:
    store, stream = write_side.store, uuid.uuid4()
    before = store.head()
    positions = store.append([envelope(a_task_created(), stream, 1)])
    positions += store.append(
        [
            envelope(
                TaskDetailsChanged(
                    title="u", description=None, priority=Priority.LOW, due_date=None
                ),
                stream,
                2,
            )
        ]
    )

    read = store.read_all(before, 100)
    assert [e.position for e in read if e.stream_id == stream] == positions
    assert [e.position for e in store.read_stream(stream, after_version=1)] == positions[1:]
    assert store.read_all(store.head(), 10) == []


def test_positions_are_stored_per_reader(write_side: WriteSide) -> None:
    name = f"reader-{uuid.uuid4().hex[:8]}"
    assert write_side.store.get_position(name) == 0
    write_side.store.set_position(name, 42)
    write_side.store.set_position(name, 43)
    assert write_side.store.get_position(name) == 43


def test_a_pooled_connection_is_pinged_only_after_sitting_idle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pings: list[object] = []
    ping = ConnectionPool.check_connection

    def counted(conn: psycopg.Connection[Any]) -> None:
        pings.append(conn)
        ping(conn)

    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(counted))
    datastore = datastore_from_dsn(BASE_DSN, pool_size=1, max_overflow=0, timeout=3, lock_timeout=5)
    datastore.pool.open(wait=True)
    try:
        for _ in range(5):
            with datastore.get_connection() as conn:
                conn.execute("SELECT 1")
        assert len(pings) == 1, "only the new connection, not each reuse"

        time.sleep(datastore.pings.idle + 0.1)
        with datastore.get_connection() as conn:
            conn.execute("SELECT 1")
        assert len(pings) == 2, "pinged after sitting idle"
    finally:
        datastore.pool.close()


Appending = tuple[Future[list[int]], int]


@dataclass
class SlowCommits:
    """An event store in a database of its own, reached through a proxy, whose commits
    wait ``delay`` seconds first: time to cut the connection after COMMIT was sent."""

    store: PostgresEventStore
    proxy: TcpProxy
    admin: psycopg.Connection[Any]
    """Straight to the database, not through the proxy."""

    def delay(self, seconds: float) -> None:
        self.admin.execute("UPDATE commit_delay SET seconds = %s", (seconds,))

    def waiting_commit(self) -> int:
        """The pid of the session sleeping in its commit, once there is one."""
        for _ in range(200):
            row = self.admin.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event = 'PgSleep'"
            ).fetchone()
            if row:
                return int(row[0])
            time.sleep(0.05)
        raise AssertionError("no commit started")

    def cut_while_committing(self, pool: ThreadPoolExecutor, stream: uuid.UUID) -> Appending:
        """Appends one event to ``stream`` and cuts the network once its commit sleeps;
        returns the append under way and its server session's pid."""
        appending = pool.submit(self.store.append, [envelope(a_task_created(), stream, 1)])
        session = self.waiting_commit()
        self.proxy.cut()
        return appending, session

    def alive(self, pid: int) -> bool:
        found = self.admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,))
        return found.fetchone() is not None

    def stored(self, stream_id: uuid.UUID) -> list[int]:
        rows = self.admin.execute(
            "SELECT notification_id FROM stored_events WHERE originator_id = %s", (stream_id,)
        ).fetchall()
        return [row[0] for row in rows]


@pytest.fixture
def slow_commits() -> Iterator[SlowCommits]:
    name = f"tasktrail_test_{uuid.uuid4().hex[:10]}"
    dsn = make_conninfo(BASE_DSN, dbname=name)
    ensure_database(dsn)
    params = conninfo_to_dict(BASE_DSN)
    proxy = TcpProxy(str(params.get("host", "127.0.0.1")), int(params.get("port") or 5432))
    proxy.start()
    datastore = datastore_from_dsn(
        make_conninfo(dsn, host="127.0.0.1", port=proxy.port),
        pool_size=2, max_overflow=0, timeout=1, lock_timeout=5,
    )  # fmt: skip
    store = PostgresEventStore(datastore, EventCodec(default_registry()), settle_timeout=3)
    store.create_tables()
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(
            "CREATE TABLE commit_delay (seconds float8 NOT NULL);"
            "INSERT INTO commit_delay VALUES (0);"
            "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "PERFORM pg_sleep((SELECT seconds FROM commit_delay)); RETURN NULL; END $$;"
            "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON stored_events "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()"
        )
        yield SlowCommits(store, proxy, admin)
    store.close()
    proxy.close()
    with psycopg.connect(BASE_DSN, autocommit=True) as conn:
        conn.execute(SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(name)))


def test_an_append_whose_commit_answer_was_lost_finds_out_that_it_committed(
    slow_commits: SlowCommits,
) -> None:
    """The server commits, but the connection breaks before its answer arrives."""
    stream = uuid.uuid4()
    slow_commits.delay(1)
    with ThreadPoolExecutor(1) as pool:
        appending, session = slow_commits.cut_while_committing(pool, stream)
        for _ in range(100):  # it commits, then finds its client gone and exits
            if not slow_commits.alive(session):
                break
            time.sleep(0.05)
        slow_commits.proxy.start()
        positions = appending.result(timeout=15)

    assert positions == slow_commits.stored(stream) != []


def test_an_append_whose_session_outlives_its_client_ends_it_before_answering(
    slow_commits: SlowCommits,
) -> None:
    """The session would commit a minute later: a 503 now is true only once it is ended."""
    stream = uuid.uuid4()
    slow_commits.delay(60)
    with ThreadPoolExecutor(1) as pool:
        appending, session = slow_commits.cut_while_committing(pool, stream)
        slow_commits.proxy.start()
        with pytest.raises(StoreUnavailable) as refused:
            appending.result(timeout=15)

    assert not isinstance(refused.value, CommitOutcomeUnknown)
    assert not slow_commits.alive(session), "it can no longer commit"
    assert slow_commits.stored(stream) == []


def test_an_append_that_cannot_find_out_says_its_outcome_is_unknown(
    slow_commits: SlowCommits,
) -> None:
    stream = uuid.uuid4()
    slow_commits.delay(60)
    with ThreadPoolExecutor(1) as pool:
        appending, _ = slow_commits.cut_while_committing(pool, stream)  # and it stays cut
        started = time.monotonic()
        with pytest.raises(CommitOutcomeUnknown):
            appending.result(timeout=15)

    assert time.monotonic() - started < slow_commits.store.settle_timeout + 2


def test_an_append_that_waits_too_long_for_the_lock_is_refused_cleanly(
    write_side: WriteSide,
) -> None:
    datastore = datastore_from_dsn(
        write_side.settings.postgres_dsn, pool_size=1, max_overflow=0, timeout=3, lock_timeout=1
    )
    store = PostgresEventStore(datastore, EventCodec(default_registry()))
    stream = uuid.uuid4()
    try:
        with psycopg.connect(write_side.settings.postgres_dsn) as holder:
            holder.execute("LOCK TABLE stored_events IN EXCLUSIVE MODE")
            started = time.monotonic()
            with pytest.raises(StoreUnavailable) as refused:
                store.append([envelope(a_task_created(), stream, 1)])
            waited = time.monotonic() - started
        assert not isinstance(refused.value, CommitOutcomeUnknown), "the server said no"
        assert 1 <= waited < 10, "it waited for the lock as long as configured, no longer"
        assert store.load(stream) == []
    finally:
        store.close()


def test_an_append_is_refused_if_a_stream_it_read_moved_on(write_side: WriteSide) -> None:
    store, owner, task = write_side.store, uuid.uuid4(), uuid.uuid4()
    store.append([envelope(a_task_created(), owner, 1), envelope(a_task_created(), owner, 2)])

    with pytest.raises(ReadStreamMoved):
        store.append([envelope(a_task_created(), task, 1)], reads={owner: 1})
    assert store.load(task) == [], "nothing of it was stored"

    store.append([envelope(a_task_created(), task, 1)], reads={owner: 2, uuid.uuid4(): 0})
    assert len(store.load(task)) == 1, "read at the current version, or never written"


def test_the_read_check_sees_appends_made_while_it_waited_for_the_lock() -> None:
    """Even where the database's default isolation is REPEATABLE READ, under which a
    snapshot taken before the lock would miss them."""
    name = f"tasktrail_test_{uuid.uuid4().hex[:10]}"
    dsn = make_conninfo(BASE_DSN, dbname=name)
    ensure_database(dsn)
    with psycopg.connect(BASE_DSN, autocommit=True) as conn:
        conn.execute(
            SQL("ALTER DATABASE {} SET default_transaction_isolation = 'repeatable read'").format(
                Identifier(name)
            )
        )
    datastore = datastore_from_dsn(dsn, pool_size=2, max_overflow=0, timeout=3, lock_timeout=10)
    store = PostgresEventStore(datastore, EventCodec(default_registry()))
    owner = uuid.uuid4()
    try:
        store.create_tables()
        store.append([envelope(a_task_created(), owner, 1)])
        with ThreadPoolExecutor(1) as pool, psycopg.connect(dsn) as holder:
            holder.execute("LOCK TABLE stored_events IN EXCLUSIVE MODE")
            appending = pool.submit(
                store.append, [envelope(a_task_created(), uuid.uuid4(), 1)], reads={owner: 1}
            )
            time.sleep(0.3)  # it waits for the lock
            holder.execute(
                "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
                "VALUES (%s, 2, 'task.details_changed', '{}')",
                (owner,),
            )
            holder.commit()
            with pytest.raises(ReadStreamMoved):
                appending.result(timeout=15)
    finally:
        store.close()
        with psycopg.connect(BASE_DSN, autocommit=True) as conn:
            conn.execute(SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(name)))

"""The write side's composition root: builds real dependencies from settings."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from common.settings import Settings
from events.catalog import default_registry
from events.codec import EventCodec
from write_side.executor import CommandExecutor
from write_side.group_commit import GroupCommit
from write_side.handlers.activity import ActivityHandlers
from write_side.handlers.tasks import TaskHandlers
from write_side.handlers.users import PasswordHasher, UserHandlers
from write_side.login_limits import LoginLimiter
from write_side.passwords import Argon2Hasher
from write_side.postgres import PostgresEventStore, datastore_from_dsn, ensure_database
from write_side.stream_cache import StreamCache


@dataclass(frozen=True, slots=True)
class WriteSide:
    settings: Settings
    store: PostgresEventStore
    users: UserHandlers
    tasks: TaskHandlers
    activity: ActivityHandlers
    logins: LoginLimiter

    def close(self) -> None:
        self.store.close()
        self.logins.close()


def _now() -> datetime:
    return datetime.now(UTC)


def bootstrap(settings: Settings, hasher: PasswordHasher | None = None) -> WriteSide:
    """Creates the database and tables if missing, then wires the handlers."""
    ensure_database(settings.postgres_dsn)
    store = PostgresEventStore(
        datastore_from_dsn(
            settings.postgres_dsn,
            pool_size=settings.pg_pool_size,
            max_overflow=settings.pg_max_overflow,
            timeout=settings.pg_timeout,
            lock_timeout=settings.pg_lock_timeout,
        ),
        EventCodec(default_registry()),
        settle_timeout=settings.pg_settle_timeout,
    )
    store.create_tables()
    appends = (
        GroupCommit(store, max_group=settings.group_commit) if settings.group_commit > 1 else store
    )
    kept = settings.command_cache_streams
    executor = CommandExecutor(
        appends,
        clock=_now,
        new_id=uuid.uuid4,
        max_attempts=settings.command_attempts,
        cache=StreamCache(kept) if kept else None,
    )
    hasher = hasher or Argon2Hasher()
    return WriteSide(
        settings=settings,
        store=store,
        users=UserHandlers(executor, hasher, hasher.hash(secrets.token_urlsafe(24))),
        tasks=TaskHandlers(executor),
        activity=ActivityHandlers(executor),
        logins=LoginLimiter(
            redis.Redis.from_url(
                settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0
            ),
            settings.namespace,
            per_account=settings.login_failures_per_account,
            per_address=settings.login_failures_per_address,
            window_seconds=settings.login_window,
        ),
    )

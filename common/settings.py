"""One typed settings object, read once per process from TASKTRAIL_* variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TASKTRAIL_", frozen=True, extra="ignore")

    env: Literal["production", "development", "test"] = "production"
    postgres_dsn: str = "postgresql://postgres@127.0.0.1:5432/tasktrail"
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    redis_url: str = "redis://127.0.0.1:6379/0"
    mongo_url: str | None = None
    """Set: the read models live in MongoDB; unset: in PostgreSQL (``read_dsn``)."""
    read_dsn: str | None = None
    """The PostgreSQL database of the read models (schema ``read``); unset: the event
    store's (``postgres_dsn``)."""
    read_schema: str = Field("read", pattern=r"^[a-z][a-z0-9_]{0,62}$")
    jwt_secret: SecretStr | None = None
    """Signs bearer tokens; required (32+ characters) unless env is development or test."""
    token_lifetime: int = Field(900, ge=60, le=86_400)
    """Seconds a bearer token stays valid: a role change or deactivation waits this long."""
    login_failures_per_account: int = Field(5, ge=1)
    login_failures_per_address: int = Field(50, ge=1)
    login_window: int = Field(900, ge=1)
    """Seconds over which failed logins are counted, and an exhausted limit lasts."""
    namespace: str = Field("tasktrail", pattern=r"^[a-z][a-z0-9_]{0,39}$")
    """Prefixes the exchange, queues, Redis keys and the Mongo database."""

    pg_pool_size: int = Field(10, ge=1, le=100)
    pg_max_overflow: int = Field(10, ge=0, le=100)
    pg_timeout: float = Field(3.0, gt=0)
    """Seconds a command waits for a database connection before answering 503."""
    pg_lock_timeout: int = Field(5, ge=1)
    """Seconds an append waits for the event table lock before answering 503."""
    pg_settle_timeout: float = Field(8.0, gt=0)
    """Seconds an append whose connection broke after COMMIT keeps trying to learn
    whether it committed, before answering 503 outcome-unknown."""
    command_threads: int = Field(40, ge=1, le=1000)
    """Threads a command server runs commands on: each waits while its append does."""
    command_cache_streams: int = Field(10_000, ge=0)
    """Streams a command server keeps to decide commands without loading them (a task's
    owner); 0 loads every time. A stale one costs a retry, never a wrong answer."""
    group_commit: int = Field(64, ge=1, le=1000)
    """Most concurrent commands appended in one transaction; 1 appends each alone."""
    command_attempts: int = Field(8, ge=1, le=50)
    """Attempts at a command that keeps losing races (without If-Match) before 409."""
    max_body_bytes: int = Field(1_048_576, ge=1024)

    log_level: str = "INFO"
    log_json: bool | None = None
    """None: JSON when stderr is not a terminal."""

    breaker_failures: int = Field(5, ge=1)
    """Consecutive failures of Redis or the read store that open its circuit breaker."""
    breaker_open_seconds: float = Field(30.0, gt=0)
    """Seconds an open breaker refuses calls before one probe may try again."""

    redis_timeout: float = Field(0.25, gt=0)
    """Seconds a cache call may take (including the wait for a pooled connection) before
    the query falls through to the read store; short, because the cache is only a shortcut."""

    cache_enabled: bool = True
    """False: queries and projectors never touch Redis (every read misses, nothing is
    written), e.g. to measure the read store alone. Turning it back on within the cache
    TTL (5 minutes) may serve entries written before it was turned off."""

"""Counting failed logins in Redis, per account and per client address.

Counts live in Redis so that every command-API process shares them. When Redis
cannot be reached, logins are refused (503) rather than left unlimited.
"""

from __future__ import annotations

import hashlib

import redis


class LimiterUnavailable(Exception):
    """The failed-login counters cannot be read; logging in must wait."""


class LoginLimiter:
    def __init__(
        self,
        client: redis.Redis,
        namespace: str,
        *,
        per_account: int,
        per_address: int,
        window_seconds: int,
    ) -> None:
        self._redis = client
        self._prefix = f"{namespace}:login"
        self._limits = {"account": per_account, "address": per_address}
        self._window = window_seconds

    def _keys(self, account: str, address: str) -> dict[str, str]:
        """Hashed, so that no login name or address is stored in the clear."""

        def digest(value: str) -> str:
            return hashlib.sha256(value.encode()).hexdigest()[:32]

        return {
            "account": f"{self._prefix}:account:{digest(account)}",
            "address": f"{self._prefix}:address:{digest(address)}",
        }

    def retry_after(self, account: str, address: str) -> int:
        """Seconds until this account may try again from this address; 0 if it may now."""
        keys = self._keys(account, address)
        try:
            pipe = self._redis.pipeline(transaction=False)
            for key in keys.values():
                pipe.get(key)
                pipe.ttl(key)
            answers = pipe.execute()
        except redis.RedisError as error:
            raise LimiterUnavailable(f"login limits: {error}") from error
        wait = 0
        for index, name in enumerate(keys):
            count, ttl = answers[2 * index], answers[2 * index + 1]
            if count is not None and int(count) >= self._limits[name]:
                wait = max(wait, ttl if ttl > 0 else self._window)
        return wait

    def failed(self, account: str, address: str) -> None:
        try:
            pipe = self._redis.pipeline(transaction=False)
            for key in self._keys(account, address).values():
                pipe.incr(key)
                pipe.expire(key, self._window, nx=True)
            pipe.execute()
        except redis.RedisError as error:
            raise LimiterUnavailable(f"login limits: {error}") from error

    def succeeded(self, account: str) -> None:
        """A correct password clears the account's count, not the address's."""
        try:
            self._redis.delete(self._keys(account, "")["account"])
        except redis.RedisError as error:
            raise LimiterUnavailable(f"login limits: {error}") from error

    def close(self) -> None:
        self._redis.close()

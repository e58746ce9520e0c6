"""The bearer token the benchmarks send: servers they start share one constant secret."""

from __future__ import annotations

import functools
import uuid
from datetime import timedelta

from common.tokens import TokenCodec

SECRET = "tasktrail-bench-secret-not-for-production-use"  # noqa: S105
"""Goes to every server as TASKTRAIL_JWT_SECRET; only benchmark servers trust it."""


@functools.cache
def admin_token() -> str:
    """An admin may read and write anything, so every benchmark can use this one token;
    two hours outlast the longest run."""
    return TokenCodec(SECRET, lifetime=timedelta(hours=2)).issue(uuid.uuid4(), "admin")


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token()}"}

"""argon2id hashing, tuned so one hash costs about 30 ms on a 2-core machine.

Measured here: time_cost=3, memory_cost=19 MiB, parallelism=1 -> 29 ms per hash
and 27 ms per verify (OWASP's floor is time_cost=2 at 19 MiB: 19 ms).

At most one hash per core runs at a time. Commands run in a pool of 40 threads;
50 registrations at once had 40 hashes of 19 MiB each competing for 2 cores, each
taking longer, and left the process at 800 MB (every thread's malloc arena kept
its 19 MiB). Waiting for a core costs no latency that competing for it did not.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


def _one_per_core() -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class Argon2Hasher:
    time_cost: int = 3
    memory_cost: int = 19_456
    parallelism: int = 1
    _cores: threading.BoundedSemaphore = field(
        default_factory=_one_per_core, repr=False, compare=False
    )

    @property
    def _hasher(self) -> PasswordHasher:
        return PasswordHasher(
            time_cost=self.time_cost, memory_cost=self.memory_cost, parallelism=self.parallelism
        )

    def hash(self, password: str) -> str:
        with self._cores:
            return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            with self._cores:
                return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

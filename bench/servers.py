"""Starting and stopping the servers a benchmark loads, each in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


@contextmanager
def server(args: list[str], *, port: int, ready: str | None, env: dict[str, str]) -> Iterator[str]:
    """Runs ``python -m ARGS`` until the block ends; yields its base URL once ``ready``
    answers, or (``ready=None``, for a process without HTTP) once it has run 2 s."""
    process = subprocess.Popen(
        [sys.executable, "-m", *args], env=os.environ | env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        if ready is None:
            time.sleep(2)
            if process.poll() is not None:
                raise RuntimeError(f"{' '.join(args)} did not start")
        while ready is not None:
            try:
                if httpx.get(base + ready, timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(args)} did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)

"""tasktrail processes run as the CLI runs them, for tests that kill and restart them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

from tests.support.instances import START_SECONDS

ROOT = Path(__file__).resolve().parents[2]


class ServiceProcess:
    """``python -m cli ARGS`` with its own environment; its output goes to a log file that
    outlives restarts, so a failure can be read afterwards."""

    def __init__(
        self, name: str, args: list[str], env: Mapping[str, str], *, port: int | None = None
    ) -> None:
        self.name = name
        self.args = args
        self.env = dict(env)
        self.port = port
        self.log = Path(tempfile.mkstemp(prefix=f"tasktrail-{name}-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.process is None, f"{self.name} is running"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cli", *self.args], cwd=ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.starts += 1
        if self.port is not None:
            self.wait_live()

    def wait_live(self, within: float = START_SECONDS) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} did not answer /health: {self.tail()}")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no acknowledgement, no stored position."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM, the graceful stop; SIGKILL if that takes too long."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def freeze(self) -> None:
        """SIGSTOP: the process holds whatever it was given and does nothing with it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def _signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)
        self.process.wait(timeout=10)
        self.process = None

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGCONT)
            self.stop()
        if not os.environ.get("FAULTS_KEEP_LOGS"):
            self.log.unlink(missing_ok=True)


@contextlib.contextmanager
def running(*services: ServiceProcess) -> Iterator[tuple[ServiceProcess, ...]]:
    """Starts the services in order; stops them all on exit, whatever happened."""
    try:
        for service in services:
            service.start()
        yield services
    finally:
        for service in reversed(services):
            service.close()


def tasktrail_env(**settings: str) -> dict[str, str]:
    """This environment plus TASKTRAIL_* settings (keys without the prefix, any case)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKTRAIL_")}
    return env | {f"TASKTRAIL_{k.upper()}": v for k, v in settings.items()}

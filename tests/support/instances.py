"""Private, real PostgreSQL, Redis and RabbitMQ servers that a test may stop and start.

The shared services on the standard ports serve every other test run on the
machine, so fault tests never stop those: they start their own servers on free
ports in a temporary directory, and remove them (processes and files) on exit,
whatever happened. Each is a context manager.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("TASKTRAIL_PG_BIN", "/usr/lib/postgresql/15/bin"))
RABBITMQ_BIN = Path(os.environ.get("TASKTRAIL_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))
"""The scripts themselves, not /usr/sbin's wrappers, which switch to the rabbitmq user."""
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
START_SECONDS = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port: int, *, up: bool = True, within: float = START_SECONDS) -> None:
    deadline = time.monotonic() + within
    while port_open(port) != up:
        if time.monotonic() > deadline:
            raise TimeoutError(f"port {port} still {'closed' if up else 'open'} after {within} s")
        time.sleep(0.1)


def _as_postgres(*command: str) -> list[str]:
    """initdb and pg_ctl refuse to run as root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@dataclass
class PrivatePostgres:
    directory: Path
    port: int

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.directory / "data"), *args),
            check=True, capture_output=True, timeout=START_SECONDS,
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c max_connections=200"
        )
        self._ctl("-o", options, "-l", str(self.directory / "log"), "-w", "start")

    def stop(self) -> None:
        """Fast shutdown: open sessions are ended, in-flight transactions roll back."""
        self._ctl("-w", "stop", "-m", "fast")


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    directory = Path(tempfile.mkdtemp(prefix="tasktrail-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    server = PrivatePostgres(directory, free_port())
    try:
        subprocess.run(
            _as_postgres(str(PG_BIN / "initdb"), "-D", str(directory / "data"), "-A", "trust",
                         "-U", "postgres", "-E", "UTF8", "--no-sync"),
            check=True, capture_output=True, timeout=START_SECONDS,
        )  # fmt: skip
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            server._ctl("-w", "stop", "-m", "immediate")
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class PrivateRedis:
    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port)

    def stop(self) -> None:
        """Like a crash of the cache: what it held is gone when it comes back."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None
        wait_for_port(self.port, up=False)


@contextlib.contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    directory = Path(tempfile.mkdtemp(prefix="tasktrail-redis-"))
    server = PrivateRedis(directory, free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class PrivateRabbitMQ:
    """A RabbitMQ node of its own (own name, ports, Mnesia and Erlang cookie)."""

    directory: Path
    port: int
    node: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def env(self) -> dict[str, str]:
        base = self.directory
        return os.environ | {
            "HOME": str(base),  # the Erlang cookie the node and rabbitmqctl share
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PID_FILE": str(base / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
        }

    def ctl(self, *args: str) -> str:
        done = subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.node, *args],
            check=True, capture_output=True, timeout=START_SECONDS, env=self.env,
        )  # fmt: skip
        return done.stdout.decode()

    def start(self) -> None:
        (self.directory / "enabled_plugins").write_text("[].\n")
        self.process = subprocess.Popen(
            [str(RABBITMQ_BIN / "rabbitmq-server")], env=self.env, cwd=self.directory,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_for_port(self.port)

    def stop_app(self) -> None:
        """The broker stops (connections drop, the port closes); queues stay on disk."""
        self.ctl("stop_app")
        wait_for_port(self.port, up=False)

    def start_app(self) -> None:
        self.ctl("start_app")
        wait_for_port(self.port)

    def queue_counts(self) -> dict[str, tuple[int, int]]:
        """Per queue: (messages ready, messages delivered but not acknowledged)."""
        out = self.ctl("list_queues", "-q", "--no-table-headers", "name", "messages_ready",
                       "messages_unacknowledged")  # fmt: skip
        counts = {}
        for line in out.splitlines():
            name, ready, unacked = line.split()
            counts[name] = (int(ready), int(unacked))
        return counts

    def close(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(subprocess.SubprocessError):
            self.ctl("stop")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: erl and its helpers
        self.process.wait(timeout=10)
        self.process = None


@contextlib.contextmanager
def private_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    directory = Path(tempfile.mkdtemp(prefix="tasktrail-rabbit-"))
    server = PrivateRabbitMQ(directory, free_port(), f"tasktrail_faults_{directory.name[-8:]}")
    server.node += "@localhost"
    try:
        server.start()
        yield server
    finally:
        server.close()
        shutil.rmtree(directory, ignore_errors=True)

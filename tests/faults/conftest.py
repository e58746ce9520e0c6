"""Private servers for the fault matrix, and its summary table at the end of the run."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

from tests.faults.harness import ROWS, Servers
from tests.faults.report import table
from tests.support.instances import private_postgres, private_rabbitmq, private_redis


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """PostgreSQL, RabbitMQ and Redis of the matrix's own: scenarios stop and start them,
    which the shared servers of everyone else's tests must never see."""
    with private_postgres() as pg, private_rabbitmq() as rabbit, private_redis() as redis:
        yield Servers(pg, rabbit, redis)


@pytest.fixture(autouse=True)
def quiet_access_log() -> Iterator[None]:
    """The rebuilt query app in this process would log every compared document."""
    before = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    yield
    structlog.configure(**before)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if ROWS:
        terminalreporter.section("fault matrix")
        terminalreporter.write_line(table(ROWS))

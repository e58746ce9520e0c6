"""structlog set-up: JSON lines in production, readable lines on a terminal.

The request id is bound in a contextvar by the middleware, so every line a
request logs carries it without being passed around.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


class _Stderr:
    """Whatever sys.stderr is when a line is written, not when logging was set up:
    loggers are cached on first use, and whoever swapped stderr (a test runner
    invoking the CLI) may have closed it since."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _stderr_logger(*args: Any) -> structlog.PrintLogger:
    return structlog.PrintLogger(_Stderr())  # type: ignore[arg-type]


def configure_logging(level: str = "INFO", json: bool | None = None) -> None:
    if json is None:
        json = not sys.stderr.isatty()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info
            if json
            else structlog.processors.StackInfoRenderer(),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=True,
    )

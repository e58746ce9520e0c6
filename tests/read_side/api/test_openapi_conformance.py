"""schemathesis against the query app's own OpenAPI document, in process.

No generated request, valid or not, may get a 5xx, an undocumented status or
content type, a body its schema does not describe, or an error that is not a
problem. The queries read the session's read models, so lists have items to
check. The last test prints the run's totals.
"""

from __future__ import annotations

import dataclasses
from typing import cast

import pytest
import schemathesis
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from cli.processes import open_read_side
from common.settings import Settings
from common.tokens import TokenCodec
from read_side.api.app import create_query_app
from read_side.bootstrap import ReadSide
from read_side.postgres import PostgresReadStore
from tests.conftest import System
from tests.support.conformance import (
    BOUNDED,
    AnyCase,
    LateApp,
    Tally,
    credentials,
    documented,
    errors_are_problems,
)

TALLY = Tally("queries")
APP = LateApp(create_query_app(cast(ReadSide, None), cast(TokenCodec, None)))
"""Serves the document, which needs no running dependency, until the real app takes over."""
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


class _OpenedInItsLoop:
    """The query app over the session's read models, with a read side of its own.
    schemathesis drives apps from an event loop of its own, and a Redis client or a
    connection pool belongs to the loop that opened it, so the read side and its store
    are opened there, by the first request. X-Min-Position waits briefly: generated
    positions are mostly far ahead."""

    def __init__(self, settings: Settings, tokens: TokenCodec) -> None:
        self.settings, self.tokens = settings, tokens
        self.app: FastAPI | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            store = await PostgresReadStore.connect(self.settings.postgres_dsn)
            read_side = await open_read_side(self.settings, store)
            self.app = create_query_app(
                dataclasses.replace(read_side, consistency_wait=0.05), self.tokens
            )
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def query_app(system: System, settings: Settings, tokens: TokenCodec) -> None:
    """Between async tests the session's loop stands still, so its projectors do not
    write to the store while schemathesis reads it from another thread."""
    APP.target = _OpenedInItsLoop(settings, tokens)


def _reachable(case: AnyCase) -> None:
    """A position comes from a command's X-Event-Position; a made-up one is mostly beyond
    the event store's head, and waiting for it rightly ends in 504, whatever the schema
    says. So a well-formed X-Min-Position asks for position 0."""
    if str(case.headers.get("x-min-position", "")).isdigit():
        case.headers["x-min-position"] = "0"


@schema.parametrize()
@BOUNDED
def test_every_answer_conforms_to_the_query_schema(
    case: AnyCase, query_app: None, admin_headers: dict[str, str]
) -> None:
    _reachable(case)
    with TALLY.case(case):
        case.call_and_validate(
            headers=credentials(case, admin_headers), additional_checks=[errors_are_problems]
        )


def test_conformance_totals_of_the_query_schema(capsys: pytest.CaptureFixture[str]) -> None:
    """Every documented operation was exercised; the totals go to the terminal."""
    if not TALLY.cases:
        pytest.skip("the schemathesis run was not selected")
    with capsys.disabled():
        print(f"\n{TALLY.summary()}")
    assert TALLY.operations == documented(schema)

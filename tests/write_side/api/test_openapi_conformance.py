"""schemathesis against the command app's own OpenAPI document, in process.

No generated request, valid or not, may get a 5xx, an undocumented status or
content type, a body its schema does not describe, or an error that is not a
problem. The last test prints the run's totals.
"""

from __future__ import annotations

import re
import uuid
from types import SimpleNamespace
from typing import cast

import httpx
import pytest
import schemathesis
from fastapi import FastAPI

from common.settings import Settings
from common.tokens import TokenCodec
from tests.conftest import bearer
from tests.support.conformance import (
    BOUNDED,
    AnyCase,
    LateApp,
    Tally,
    credentials,
    documented,
    errors_are_problems,
)
from tests.write_side.api.given import a_user, unique
from write_side.api.app import create_command_app
from write_side.bootstrap import WriteSide

TALLY = Tally("commands")
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "412", "415", "422", "428", "429"]
"""schemathesis' defaults for invalid input, and 412: a malformed If-Match names no version,
so the precondition fails (RFC 9110 13.1.1), as the API documents."""
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def _documented() -> FastAPI:
    """Serves the document, which needs no running dependency (only the body limit is
    read), until the real app takes over."""
    stand_in = cast(WriteSide, SimpleNamespace(settings=Settings(env="test")))
    return create_command_app(stand_in, cast(TokenCodec, None))


APP = LateApp(_documented())
schema = schemathesis.openapi.from_asgi(
    "/openapi.json",
    APP,
    config=schemathesis.Config.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}}}
    ),
)


@pytest.fixture(scope="module")
def command_app(write_side: WriteSide, tokens: TokenCodec) -> FastAPI:
    """The real app, behind the schema's stand-in so that checks which send requests of
    their own reach it too. Its endpoints run in worker threads, so schemathesis' own event loop
    may drive it."""
    app = create_command_app(write_side, tokens)
    APP.target = app
    return app


@pytest.fixture(scope="module")
async def owner(commands: httpx.AsyncClient) -> str:
    """A registered, active user: the admin the cases act as, and the owner they name."""
    user_id: str = (await a_user(commands))["id"]
    return user_id


def _within_one_state(case: AnyCase, owner: str) -> None:
    """What JSON Schema cannot say, made true of valid cases. Generated data knows nothing
    of the database all cases share: a key generated twice for different requests is a
    reuse the API must refuse (422, as the IETF draft says), and a made-up owner does not
    exist (422). Nor can a schema say that a password must differ from the username and
    email. So valid cases get keys of their own, name a real owner, and a fresh username
    and email when the generated password happens to be one of them."""
    key = case.headers.get("idempotency-key")
    if key is not None and _KEY.match(key):
        case.headers["idempotency-key"] = f"{key[:200]}-{uuid.uuid4().hex}"
    body = case.body
    if case.meta is None or not case.meta.generation.mode.is_positive or not isinstance(body, dict):
        return
    if "user_id" in body:
        body["user_id"] = owner
    if case.operation.label == "POST /api/v1/users":
        email = str(body["email"])
        logins = {str(body["username"]), email, email.partition("@")[0]}
        if str(body["password"]).casefold() in {login.casefold() for login in logins}:
            fresh = unique()
            body.update(username=fresh, email=f"{fresh}@example.com")


@schema.parametrize()
@BOUNDED
def test_every_answer_conforms_to_the_command_schema(
    case: AnyCase, command_app: FastAPI, owner: str, tokens: TokenCodec
) -> None:
    _within_one_state(case, owner)
    with TALLY.case(case):
        case.call_and_validate(
            headers=credentials(case, bearer(tokens, owner, "admin")),
            additional_checks=[errors_are_problems],
        )


def test_conformance_totals_of_the_command_schema(capsys: pytest.CaptureFixture[str]) -> None:
    """Every documented operation was exercised; the totals go to the terminal."""
    if not TALLY.cases:
        pytest.skip("the schemathesis run was not selected")
    with capsys.disabled():
        print(f"\n{TALLY.summary()}")
    assert TALLY.operations == documented(schema)

"""Bearer tokens: what verifies, what does not, and when a secret must be set."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import SecretStr

from common.settings import Settings
from common.tokens import InvalidToken, TokenCodec, WeakSecret

SECRET = "s" * 40
codec = TokenCodec(SECRET, lifetime=timedelta(minutes=15))


def test_a_token_names_its_subject_role_and_expiry() -> None:
    who, now = uuid.uuid4(), datetime.now(UTC)

    claims = codec.verify(codec.issue(who, "admin", now=now))

    assert (claims.subject, claims.role) == (who, "admin")
    assert abs(claims.expires_at - (now + timedelta(minutes=15))) < timedelta(seconds=1)


def _unsigned(payload: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


@pytest.mark.parametrize(
    "token",
    [
        codec.issue(uuid.uuid4(), "member", now=datetime.now(UTC) - timedelta(hours=1)),
        TokenCodec("o" * 40, lifetime=timedelta(minutes=5)).issue(uuid.uuid4(), "admin"),
        _unsigned({"sub": str(uuid.uuid4()), "role": "admin", "iss": "tasktrail",
                   "iat": 1, "exp": 4_000_000_000}),
        jwt.encode({"sub": str(uuid.uuid4()), "role": "admin", "exp": 4_000_000_000,
                    "iat": 1}, SECRET, algorithm="HS256"),  # no issuer
        jwt.encode({"sub": "not-a-uuid", "role": "admin", "iss": "tasktrail",
                    "iat": 1, "exp": 4_000_000_000}, SECRET, algorithm="HS256"),
        "not a token",
        "",
    ],
    ids=["expired", "other-secret", "alg-none", "no-issuer", "bad-subject", "garbage", "empty"],
)  # fmt: skip
def test_a_token_that_is_not_ours_and_current_is_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        codec.verify(token)


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    now = [datetime.now(UTC)]
    remembering = TokenCodec(SECRET, lifetime=timedelta(minutes=15), clock=lambda: now[0])
    token = remembering.issue(uuid.uuid4(), "admin", now=now[0])
    assert remembering.verify(token).role == "admin"

    now[0] += timedelta(minutes=15, seconds=1)

    with pytest.raises(InvalidToken):
        remembering.verify(token)


def test_a_token_altered_after_a_good_one_was_remembered_is_refused() -> None:
    token = codec.issue(uuid.uuid4(), "member")
    codec.verify(token)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = base64.urlsafe_b64encode(json.dumps(claims | {"role": "admin"}).encode())

    with pytest.raises(InvalidToken):
        codec.verify(f"{header}.{forged.rstrip(b'=').decode()}.{signature}")


def test_production_refuses_to_start_without_a_strong_secret() -> None:
    with pytest.raises(WeakSecret):
        TokenCodec.from_settings(Settings(env="production"))
    with pytest.raises(WeakSecret):
        TokenCodec.from_settings(Settings(env="production", jwt_secret=SecretStr("short")))
    assert TokenCodec.from_settings(Settings(env="production", jwt_secret=SecretStr(SECRET)))


def test_development_signs_with_a_random_secret_per_process() -> None:
    one = TokenCodec.from_settings(Settings(env="development"))
    other = TokenCodec.from_settings(Settings(env="development"))
    token = one.issue(uuid.uuid4(), "member")

    assert one.verify(token)
    with pytest.raises(InvalidToken):
        other.verify(token)

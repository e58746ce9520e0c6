"""The password strength policy: every broken rule is reported, a strong password passes."""

from __future__ import annotations

import pytest

from write_side.domain.passwords import MAX_LENGTH, MIN_LENGTH, password_problems

USERNAME = "Ada_Lovelace"
EMAIL = "Countess.Ada@Example.com"

TOO_SHORT = f"must be at least {MIN_LENGTH} characters long"
TOO_LONG = f"must be at most {MAX_LENGTH} characters long"
ONE_CLASS = "must mix at least two kinds of characters (lower, upper, digits, symbols)"
IDENTITY = "must not be the username or email"


def problems(password: str) -> list[str]:
    return password_problems(password, username=USERNAME, email=EMAIL)


@pytest.mark.parametrize(
    "password", ["Tr0ub4dor&3", "correct horse battery staple", "Ab" * 5, "a1" * (MAX_LENGTH // 2)]
)
def test_a_strong_password_passes(password: str) -> None:
    assert problems(password) == []


def test_the_bounds_are_ten_and_two_hundred_fifty_six() -> None:
    assert (MIN_LENGTH, MAX_LENGTH) == (10, 256)


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        pytest.param("a", [TOO_SHORT, ONE_CLASS], id="one-char"),
        pytest.param("aB", [TOO_SHORT], id="two-chars"),
        pytest.param(("aB" * MIN_LENGTH)[: MIN_LENGTH - 1], [TOO_SHORT], id="one-below-minimum"),
    ],
)
def test_too_short(password: str, expected: list[str]) -> None:
    assert problems(password) == expected


def test_exactly_the_minimum_length_is_long_enough() -> None:
    assert problems(("aB" * MIN_LENGTH)[:MIN_LENGTH]) == []


def test_too_long() -> None:
    assert problems("aB" * MAX_LENGTH) == [TOO_LONG]
    assert problems(("aB" * MAX_LENGTH)[: MAX_LENGTH + 1]) == [TOO_LONG]


def test_exactly_the_maximum_length_is_short_enough() -> None:
    assert problems(("aB" * MAX_LENGTH)[:MAX_LENGTH]) == []


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("abcdefghijkl", id="lower"),
        pytest.param("ABCDEFGHIJKL", id="upper"),
        pytest.param("123456789012", id="digits"),
        pytest.param("!@#$%^&*()-_", id="symbols"),
        pytest.param("éàüøß漢字ñçõ", id="non-ascii-counts-as-symbols"),
        pytest.param("!@#$%^&*()é漢", id="symbols-and-non-ascii"),
    ],
)
def test_a_single_kind_of_character(password: str) -> None:
    assert problems(password) == [ONE_CLASS]


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("abcdefghij1", id="lower-digit"),
        pytest.param("ABCDEFGHIJ!", id="upper-symbol"),
        pytest.param("1234567890é", id="digit-non-ascii"),
    ],
)
def test_two_kinds_of_character_are_enough(password: str) -> None:
    assert problems(password) == []


def test_an_empty_password_breaks_the_length_and_mix_rules() -> None:
    assert problems("") == [TOO_SHORT, ONE_CLASS]


@pytest.mark.parametrize(
    "password",
    [
        pytest.param(USERNAME, id="as-is"),
        pytest.param(USERNAME.upper(), id="upper"),
        pytest.param(USERNAME.swapcase(), id="swapped"),
    ],
)
def test_equal_to_the_username_in_any_case(password: str) -> None:
    assert problems(password) == [IDENTITY]


@pytest.mark.parametrize(
    "password",
    [
        pytest.param(EMAIL, id="as-is"),
        pytest.param(EMAIL.lower(), id="lower"),
        pytest.param(EMAIL.swapcase(), id="swapped"),
    ],
)
def test_equal_to_the_email_in_any_case(password: str) -> None:
    assert problems(password) == [IDENTITY]


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("Countess.Ada", id="as-is"),
        pytest.param("COUNTESS.ADA", id="upper"),
        pytest.param("countess.ada", id="lower"),
    ],
)
def test_equal_to_the_local_part_of_the_email_in_any_case(password: str) -> None:
    assert problems(password) == [IDENTITY]


@pytest.mark.parametrize(
    "password",
    [
        pytest.param(USERNAME + "1", id="username-plus"),
        pytest.param("Example.com", id="email-domain"),
        pytest.param(EMAIL + "!", id="email-plus"),
    ],
)
def test_merely_containing_the_identity_is_allowed(password: str) -> None:
    assert problems(password) == []


def test_a_short_single_kind_username_reports_every_problem() -> None:
    assert password_problems("adalove", username="AdaLove", email="a@example.com") == [
        TOO_SHORT,
        ONE_CLASS,
        IDENTITY,
    ]

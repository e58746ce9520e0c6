"""The password strength policy; hashing is infrastructure (write_side.passwords)."""

from __future__ import annotations

import string

MIN_LENGTH = 10
MAX_LENGTH = 256
"""Bounds the hashing work one request can ask for."""

_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)


def _character_class(char: str) -> int:
    for index, members in enumerate(_CLASSES):
        if char in members:
            return index
    return len(_CLASSES)


def password_problems(password: str, *, username: str, email: str) -> list[str]:
    """Every rule the password breaks, in words a user can act on; empty if strong."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters long")
    if len({_character_class(c) for c in password}) < 2:
        problems.append("must mix at least two kinds of characters (lower, upper, digits, symbols)")
    folded = password.casefold()
    if folded in {username.casefold(), email.casefold(), email.partition("@")[0].casefold()}:
        problems.append("must not be the username or email")
    return problems

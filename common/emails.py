"""The email address type both APIs accept, documented as strictly as it is checked."""

from __future__ import annotations

from typing import Annotated

from pydantic import EmailStr, Field, StringConstraints

_RESERVED_NAMES = ("arpa", "invalid", "local", "localhost", "onion", "test")
"""Special-use domains (RFC 6761) that email-validator refuses; JSON Schema has no
case-insensitive flag, hence the character classes."""
_ANY_CASE = "|".join("".join(f"[{c}{c.upper()}]" for c in name) for name in _RESERVED_NAMES)
_NOT_RESERVED = rf"^(?!.*\.({_ANY_CASE})$)"

Email = Annotated[
    EmailStr, StringConstraints(max_length=254), Field(json_schema_extra={"pattern": _NOT_RESERVED})
]

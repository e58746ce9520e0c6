"""Request bodies hold only strings that every store downstream can hold.

PostgreSQL's jsonb holds no NUL (U+0000) in a string or an object key, and no JSON
encoder writes a lone surrogate (U+D800..U+DFFF, which is not Unicode text; JSON
parsers accept its escape). Accepted, either would be stored in an event and fail
later in a projector. ``StorableInput`` refuses both anywhere in a body, free-form
JSON and its keys included, naming where each one is, before any field is checked.

The patterns say the same in the OpenAPI document, which is how a generator such as
schemathesis learns what a valid string is. They name NUL only: a pattern cannot name
lone surrogates in every regex dialect (Rust's has none, and ECMA-262 without the u
flag sees any character beyond U+FFFF as two of them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

NUL_FREE = r"^[^\x00]*$"
VISIBLE = r"^[^\x00]*[^\s\x00\x1c-\x1f\x85\ufeff][^\x00]*$"
"""NUL_FREE, and holds a character that no whitespace stripping removes (by any of the
Python, Rust and JavaScript definitions): in the document a bare minLength would call
"\\f" valid, which stripping turns into the empty string."""
NUL_FREE_KEYS = {"propertyNames": {"pattern": NUL_FREE}}
"""For the document of a free-form object (pydantic would write a key pattern as
``patternProperties``, which leaves every other key allowed)."""

_Kind = Literal["String", "Key"]
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class StorableInput(BaseModel):
    """A request body: none of its strings or keys, however deep, holds NUL or a lone
    surrogate."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_unstorable_strings(cls, data: Any) -> Any:
        errors = list(unstorable(data))
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return data


@dataclass(frozen=True, slots=True)
class _At:
    """Where a value is, as a chain of parents: a path is built only for an error."""

    parent: _At | None
    key: str | int

    def loc(self) -> tuple[str | int, ...]:
        keys: list[str | int] = []
        at: _At | None = self
        while at is not None:
            # An error's location cannot hold a lone surrogate either: U+FFFD stands in.
            keys.append(_SURROGATE.sub("\ufffd", at.key) if isinstance(at.key, str) else at.key)
            at = at.parent
        return tuple(reversed(keys))


def unstorable(data: object) -> Iterator[InitErrorDetails]:
    """An error for each string and key in ``data`` that holds NUL or a lone surrogate,
    in document order. Walks without recursion: the body parser allows deeper nesting
    than Python's stack."""
    pending: list[tuple[object, _At | None, _Kind]] = [(data, None, "String")]
    while pending:
        value, at, what = pending.pop()
        if isinstance(value, str):
            if found := _UNSTORABLE.search(value):
                yield _error(what, found, value, at)
        elif isinstance(value, dict):
            children: list[tuple[object, _At | None, _Kind]] = []
            for key, item in value.items():
                child = _At(at, key)
                children += [(key, child, "Key"), (item, child, "String")]
            pending.extend(reversed(children))
        elif isinstance(value, list):
            pending.extend((value[i], _At(at, i), "String") for i in reversed(range(len(value))))


def _error(what: _Kind, found: re.Match[str], text: str, at: _At | None) -> InitErrorDetails:
    character = f"U+{ord(found.group()):04X}"
    if found.group() == "\x00":
        message = f"{what} must not hold {character} (NUL), which PostgreSQL cannot store"
    else:
        message = f"{what} must not hold {character}, a lone surrogate, which is not Unicode text"
    return InitErrorDetails(
        type=PydanticCustomError("string_unstorable", message, {"character": character}),
        loc=at.loc() if at else (),
        input=text,
    )

"""The base class every event schema derives from, and the field markers."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)


class _WriteOnly:
    """Marks a field that is stored in the event store but never leaves the write side."""

    def __repr__(self) -> str:
        return "WriteOnly"


WriteOnly: Final = _WriteOnly()
"""Use as ``Annotated[str, WriteOnly]``; the codec strips such fields from public payloads."""

READ_BACK: Final = "read_back"
"""Validation context key the codec sets for events it decodes from the store."""


def _unless_read_back(value: Any, check: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    if isinstance(value, str) and isinstance(info.context, dict) and info.context.get(READ_BACK):
        return value
    return check(value)


RecordedEmail = Annotated[EmailStr, WrapValidator(_unless_read_back)]
"""An email address, checked when the event is recorded, not each time it is read back:
email-validator's check was 13% of a CreateTask's CPU, which loads the owner's stream."""


class DomainEvent(BaseModel):
    """A fact that happened, named in the past tense; immutable and behaviour-free.

    ``type_name`` is the stable name stored in the event store and used as the
    routing key (``user.registered``); ``schema_version`` grows when the payload
    shape changes, and an upcaster lifts older stored payloads to it.
    ``published`` is False for write-side bookkeeping the relay must not publish.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type_name: ClassVar[str]
    schema_version: ClassVar[int] = 1
    published: ClassVar[bool] = True

    @classmethod
    def aggregate(cls) -> str:
        """The stream kind, the part of ``type_name`` before the dot."""
        return cls.type_name.partition(".")[0]

    @classmethod
    def write_only_fields(cls) -> frozenset[str]:
        return frozenset(
            name
            for name, field in cls.model_fields.items()
            if any(meta is WriteOnly for meta in field.metadata)
        )

    def public_payload(self) -> dict[str, Any]:
        """The payload as it may leave the write side: JSON types, no write-only fields."""
        return self.model_dump(mode="json", exclude=set(self.write_only_fields()))

"""The base class every event schema derives from, and the write-only marker."""

from __future__ import annotations

from typing import Any, ClassVar, Final

from pydantic import BaseModel, ConfigDict


class _WriteOnly:
    """Marks a field that is stored in the event store but never leaves the write side."""

    def __repr__(self) -> str:
        return "WriteOnly"


WriteOnly: Final = _WriteOnly()
"""Use as ``Annotated[str, WriteOnly]``; the codec strips such fields from public payloads."""


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

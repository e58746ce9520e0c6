"""Request and response bodies of the command API (``*Create``, ``*Update``, ``*Public``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, Union
from uuid import UUID

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from typing_extensions import TypeAliasType

from common.emails import Email
from events.tasks import Priority, TaskStatus
from events.users import Role
from write_side.api.storable import NUL_FREE, NUL_FREE_KEYS, VISIBLE, StorableInput
from write_side.domain.activity import Activity

MAX_PROPERTIES_BYTES = 16 * 1024

Username = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.\-]{3,32}$")
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=NUL_FREE)]
NewPassword = Annotated[
    Password,
    Field(
        description="At least 10 characters of two kinds (lower, upper, digits, symbols); "
        "not the username or email",
        # Documents the policy the domain enforces (write_side.domain.passwords).
        json_schema_extra={
            "minLength": 10,
            "pattern": r"^(?!(?:[a-z]+|[A-Z]+|[0-9]+|[^a-zA-Z0-9]+)$)[^\x00]{10,256}$",
        },
    ),
]
FullName = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200, pattern=NUL_FREE)
]
Bio = Annotated[str, StringConstraints(max_length=2000, pattern=NUL_FREE)]
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=VISIBLE),
]
Description = Annotated[str, StringConstraints(max_length=5000, pattern=NUL_FREE)]
Label = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=VISIBLE),
]
LoginName = Annotated[str, StringConstraints(min_length=1, max_length=254, pattern=NUL_FREE)]

_SAFE_INTEGER = 2**53 - 1
PropertyNumber = Field(ge=-_SAFE_INTEGER, le=_SAFE_INTEGER)
"""Numbers within ±(2⁵³-1), which every JSON reader holds exactly (RFC 7493), BSON and
the event codec included; one bound for integers and floats keeps the rule simple.
(A 64-bit bound would not survive the OpenAPI document, which writes bounds as floats.)"""
PropertyText = Annotated[str, StringConstraints(pattern=NUL_FREE)]
PropertyValue = TypeAliasType(
    "PropertyValue",
    "Union[PropertyText, bool, Annotated[int, PropertyNumber], Annotated[float, PropertyNumber],"
    " list[PropertyValue], Properties, None]",
)
Properties = Annotated[dict[str, PropertyValue], Field(json_schema_extra=NUL_FREE_KEYS)]
"""Keys are checked by StorableInput; this documents them."""


class _Input(StorableInput):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_null(value: object) -> object:
    """For fields typed ``X | SkipJsonSchema[None]``: None means omitted, never sent."""
    if value is None:
        raise ValueError("may be omitted, but not null")
    return value


class UserCreate(_Input):
    email: Email
    username: Username
    password: NewPassword
    full_name: FullName | None = None
    bio: Bio | None = None


class UserUpdate(_Input):
    """Omitted fields stay as they are; full_name and bio may be set to null."""

    email: Email | SkipJsonSchema[None] = None
    username: Username | SkipJsonSchema[None] = None
    full_name: FullName | None = None
    bio: Bio | None = None

    _no_nulls = field_validator("email", "username", mode="before")(_not_null)


class RoleChange(_Input):
    role: Role


class Login(_Input):
    """Either username or email names the account."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": [name], "properties": {name: {"type": "string", "pattern": NUL_FREE}}}
                for name in ("username", "email")
            ]
        }
    )

    username: LoginName | None = None
    email: LoginName | None = None
    password: Password

    @model_validator(mode="after")
    def _one_login(self) -> Login:
        if (self.username is None) == (self.email is None):
            raise ValueError("give exactly one of username or email")
        return self


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int
    """Seconds until the token expires."""


class PasswordChange(_Input):
    current_password: Password
    new_password: NewPassword


class TaskCreate(_Input):
    user_id: UUID | None = Field(None, description="The owner; yours when omitted")
    title: Title
    description: Description | None = None
    priority: Priority = Priority.MEDIUM
    due_date: date | None = None


class TaskUpdate(_Input):
    """Omitted fields stay as they are; description and due_date may be set to null."""

    title: Title | SkipJsonSchema[None] = None
    description: Description | None = None
    priority: Priority | SkipJsonSchema[None] = None
    due_date: date | None = None
    status: TaskStatus | SkipJsonSchema[None] = None

    _no_nulls = field_validator("title", "priority", "status", mode="before")(_not_null)


class ActivityCreate(_Input):
    event_type: Label
    event_name: Title
    category: Label | None = None
    user_id: UUID | None = Field(None, description="Whose activity; yours when omitted")
    properties: Properties = Field(
        default_factory=dict,
        description="Any JSON object of at most 16 kB; numbers within ±(2⁵³-1)",
    )
    source_service: Label | None = None

    @field_validator("properties", mode="before")
    @classmethod
    def _storable(cls, value: object) -> object:
        """One clear message for what the event codec or BSON can't hold, before the
        type's own checks, whose union would list every JSON type that didn't match."""
        try:
            encoded = orjson.dumps(value)
        except orjson.JSONEncodeError as error:  # a TypeError, which pydantic would not catch
            raise ValueError(f"cannot be stored as JSON: {error}") from error
        if len(encoded) > MAX_PROPERTIES_BYTES:
            raise ValueError(f"must serialize to at most {MAX_PROPERTIES_BYTES} bytes of JSON")
        if not _numbers_in_range(value):
            raise ValueError("numbers must be finite and within ±(2⁵³-1)")
        return value


def _numbers_in_range(value: object) -> bool:
    """Whether every number in ``value`` is within ±(2⁵³-1) (orjson has already bounded
    the depth)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    if isinstance(value, int | float):
        return -_SAFE_INTEGER <= value <= _SAFE_INTEGER  # False for NaN
    if isinstance(value, dict):
        return all(_numbers_in_range(item) for item in value.values())
    if isinstance(value, list):
        return all(_numbers_in_range(item) for item in value)
    return True


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UserPublic(_Public):
    id: UUID
    email: str
    username: str
    full_name: str | None
    bio: str | None
    status: str
    role: Role
    created_at: datetime
    updated_at: datetime
    version: int


class TaskPublic(_Public):
    id: UUID
    user_id: UUID
    title: str
    description: str | None
    status: TaskStatus
    priority: Priority
    due_date: date | None
    created_at: datetime
    updated_at: datetime
    version: int


class ActivityPublic(BaseModel):
    id: UUID
    event_type: str
    event_name: str
    category: str | None
    user_id: UUID | None
    properties: dict[str, Any]
    source_service: str | None
    timestamp: datetime

    @classmethod
    def of(cls, activity: Activity) -> ActivityPublic:
        return cls(id=activity.id, timestamp=activity.timestamp, **activity.tracked.model_dump())

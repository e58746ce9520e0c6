"""Domain errors: each a type, mapped to HTTP in exactly one place (write_side.api.errors)."""

from __future__ import annotations

from uuid import UUID


class DomainError(Exception):
    """A command was refused by a business rule; nothing was appended."""


class NotFound(DomainError):
    def __init__(self, kind: str, stream_id: UUID) -> None:
        super().__init__(f"{kind} {stream_id} does not exist")
        self.stream_id = stream_id


class UserNotFound(NotFound):
    def __init__(self, user_id: UUID) -> None:
        super().__init__("user", user_id)


class TaskNotFound(NotFound):
    def __init__(self, task_id: UUID) -> None:
        super().__init__("task", task_id)


class Forbidden(DomainError):
    """The caller is known but may not do this; nothing was appended."""


class Conflict(DomainError):
    """The command contradicts current state (a duplicate, or an invalid transition)."""


class DuplicateEmail(Conflict):
    def __init__(self) -> None:
        super().__init__("a user with this email already exists")


class DuplicateUsername(Conflict):
    def __init__(self) -> None:
        super().__init__("a user with this username already exists")


class InvalidTransition(Conflict):
    def __init__(self, what: str, current: str, wanted: str) -> None:
        super().__init__(f"{what} cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


class VersionMismatch(DomainError):
    """The caller's If-Match version is not the stream's current version."""

    def __init__(self, expected: int, actual: int | None) -> None:
        current = "it changed concurrently" if actual is None else f"it is at version {actual}"
        super().__init__(f"expected version {expected}, but {current}")
        self.expected = expected
        self.actual = actual


class InvalidCommand(DomainError):
    """Input that is well-formed but breaks a rule; names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class WeakPassword(InvalidCommand):
    def __init__(self, field: str, problems: list[str]) -> None:
        super().__init__(field, "; ".join(problems))
        self.problems = problems


class WrongPassword(InvalidCommand):
    def __init__(self) -> None:
        super().__init__("current_password", "the current password is not correct")


class OwnerUnavailable(InvalidCommand):
    def __init__(self, user_id: UUID) -> None:
        super().__init__("user_id", f"user {user_id} does not exist or is not active")

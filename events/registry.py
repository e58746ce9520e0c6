"""Maps stored type names to event classes, and lifts old payloads to current schemas."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from events.base import DomainEvent

Payload = dict[str, Any]


class UnknownEventType(LookupError):
    """A stored event names a type this code does not know."""


@dataclass(frozen=True, slots=True)
class Upcaster:
    """Lifts a stored payload of ``type_name`` from ``from_version`` to the next version."""

    type_name: str
    from_version: int
    lift: Callable[[Payload], Payload]


class EventRegistry:
    def __init__(
        self, classes: Iterable[type[DomainEvent]], upcasters: Iterable[Upcaster] = ()
    ) -> None:
        self._classes: dict[str, type[DomainEvent]] = {}
        for cls in classes:
            if cls.type_name in self._classes:
                raise ValueError(f"event type {cls.type_name!r} registered twice")
            self._classes[cls.type_name] = cls
        self._upcasters = {(u.type_name, u.from_version): u.lift for u in upcasters}

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._classes

    def __iter__(self) -> Iterator[type[DomainEvent]]:
        return iter(self._classes.values())

    def resolve(self, type_name: str) -> type[DomainEvent]:
        try:
            return self._classes[type_name]
        except KeyError:
            raise UnknownEventType(type_name) from None

    def upcast(self, type_name: str, version: int, payload: Payload) -> Payload:
        """Applies upcasters one version at a time up to the class's current version."""
        target = self.resolve(type_name).schema_version
        while version < target:
            lift = self._upcasters.get((type_name, version))
            if lift is None:
                raise UnknownEventType(f"{type_name} v{version}: no upcaster to v{version + 1}")
            payload = lift(payload)
            version += 1
        return payload

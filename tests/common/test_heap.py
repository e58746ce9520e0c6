"""Freezing the long-lived heap: garbage goes first, survivors leave the collector's sight."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from common.heap import freeze_long_lived


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def unfrozen_after() -> Iterator[None]:
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen_after")
def test_garbage_is_collected_and_survivors_are_frozen() -> None:
    garbage, survivor = Node(), Node()
    garbage.other, survivor.other = Node(), survivor  # both cycles; only one is kept
    garbage.other.other = garbage
    gone = weakref.ref(garbage)
    del garbage

    freeze_long_lived()

    assert gone() is None, "a cycle that was garbage must not be frozen"
    tracked = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
    assert id(survivor) not in tracked
    assert gc.get_freeze_count() > 0

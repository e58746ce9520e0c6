"""Rebuilding a projection into a fresh generation while the live one keeps serving.

1. Build: replay the whole event store into generation N+1 (leftovers of an
   interrupted run are dropped first, so running again starts over).
2. Catch up: replay again from where it got to, until nothing new arrives.
3. Switch: propose N+1; the live projector catches it up to what it has
   applied and makes it current, so readers never see it behind. With no live
   projector answering, the rebuild catches up once more and switches itself.
4. Parity: compare document counts and a sample of documents of N and N+1,
   report the differences, then drop generation N (after a grace period for
   queries still reading it).
Until step 3 nothing the live side uses has been touched: an interrupted
rebuild leaves it exactly as it was.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from projections.applier import Applier
from projections.catalog import ApplierFactory
from projections.replay import Progress, replay
from read_side.generations import Generations
from read_side.store import REV, Criteria, Document, ReadStore, Table


@dataclass
class Parity:
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per collection: (documents in the old generation, in the new one)."""
    sampled: int = 0
    differences: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.differences and all(a == b for a, b in self.counts.values())


@dataclass
class RebuildReport:
    projection: str
    old_generation: int
    new_generation: int
    events: int
    seconds: float
    switched: bool
    switched_by: str
    parity: Parity
    dropped_old: bool

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


@dataclass
class Rebuild:
    name: str
    appliers: ApplierFactory
    store: ReadStore
    batch_size: int = 1000
    switch_timeout: float = 10.0
    grace_seconds: float = 1.0
    """Seconds between the switch and dropping the old generation: longer than the
    0.25 s for which query processes may still resolve it (CurrentGenerations)."""
    sample: int = 100
    on_phase: Callable[[str], None] = lambda phase: None
    after_batch: Callable[[], None] = lambda: None
    """Runs after each batch replayed into the new generation; the rebuilding process
    freezes its heap there (common.heap), as the read model grows in bulk."""

    async def run(
        self, *, dry_run: bool = False, progress: Progress | None = None
    ) -> RebuildReport:
        generations = Generations(self.store)
        state = await generations.state(self.name)
        old = state.current
        if state.next is not None:  # an earlier run proposed a generation nobody took
            await generations.withdraw(self.name)
        new = max(old, state.next or 0) + 1
        applier = self.appliers(new)
        if state.next is not None and state.next != new:
            await self.store.drop(self.appliers(state.next).tables)
        await self.store.drop(applier.tables)
        await applier.setup()
        started = time.monotonic()

        self.on_phase("replaying")
        counted = Tally(self.after_batch)
        position = await replay(
            applier, batch_size=self.batch_size, progress=counted.wrap(progress)
        )
        self.on_phase("catching up")
        position = await self._catch_up(applier, position, counted)
        seconds = time.monotonic() - started

        switched, by = False, "nobody (dry run)"
        if not dry_run:
            self.on_phase("switching")
            switched, by = await self._switch(generations, applier, old, new, position, counted)
        self.on_phase("checking parity")
        parity = await compare(
            self.store, self.appliers(old).projector.tables, applier.projector.tables,
            self.sample,
        )  # fmt: skip
        if dry_run:
            await self.store.drop(applier.tables)
        elif switched:
            await asyncio.sleep(self.grace_seconds)  # queries that resolved the old one finish
            await self.store.drop(self.appliers(old).tables)
        return RebuildReport(
            self.name, old, new, counted.events, seconds, switched, by, parity, switched
        )

    async def _catch_up(self, applier: Applier, position: int, counted: Tally) -> int:
        while (reached := await replay(applier, progress=counted.wrap(None))) > position:
            position = reached
        return position

    async def _switch(
        self,
        generations: Generations,
        applier: Applier,
        old: int,
        new: int,
        position: int,
        counted: Tally,
    ) -> tuple[bool, str]:
        await generations.propose(self.name, new)
        deadline = time.monotonic() + self.switch_timeout
        while time.monotonic() < deadline:
            if (await generations.state(self.name)).current == new:
                return True, "the live projector"
            await asyncio.sleep(0.05)
        await self._catch_up(applier, position, counted)
        if await generations.switch(self.name, old, new):
            return True, "the rebuild (no live projector answered)"
        return (await generations.current(self.name)) == new, "the live projector"


class Tally:
    """Counts applied events across the replays of one rebuild, for its report, and
    runs the rebuild's ``after_batch`` as each batch is counted."""

    def __init__(self, after_batch: Callable[[], None]) -> None:
        self.events = 0
        self.after_batch = after_batch

    def wrap(self, progress: Progress | None) -> Progress:
        base = self.events

        def report(position: int, applied: int) -> None:
            self.events = base + applied
            self.after_batch()
            if progress is not None:
                progress(position, self.events)

        return report


async def compare(
    store: ReadStore, old: Sequence[Table], new: Sequence[Table], sample: int
) -> Parity:
    """Counts of every table, and ``sample`` documents of each compared field by field.

    The revision ``_rev`` is left out: it counts writes, not content.
    """
    parity = Parity()
    everything = Criteria()
    for before, after in zip(old, new, strict=True):
        name = before.name
        parity.counts[name] = (
            await store.count(before, everything),
            await store.count(after, everything),
        )
        sampled = await store.scan(after, limit=sample)
        previous = await store.get_many(before, [key for key, _ in sampled])
        for key, doc in sampled:
            parity.sampled += 1
            old_doc = previous.get(key)
            if old_doc is None:
                parity.differences.append(f"{name}/{key}: only in the new generation")
            elif _content(old_doc) != _content(doc):
                changed = sorted(k for k in _content(doc).keys() | _content(old_doc).keys()
                                 if doc.get(k) != old_doc.get(k))  # fmt: skip
                parity.differences.append(f"{name}/{key}: {', '.join(changed)} differ")
    return parity


def _content(doc: Document) -> Document:
    return {k: v for k, v in doc.items() if k != REV}

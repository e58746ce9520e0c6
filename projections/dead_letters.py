"""Resolving a projector's dead letters: list them, retry them, or discard them.

A dead-lettered event holds its stream back (projections.applier), so every
way out must release the stream and apply what waited behind it, in stream
order. Messages are taken from the queue unacknowledged and acknowledged only
once resolved: whatever is not resolved, or was taken just to be read, goes
back to the queue when the channel closes, even if this process dies.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from common.amqp import connect
from events.codec import EventCodec
from events.published import PublishedEvent
from projections.applier import Applier, ApplyFailed
from projections.runtime import dead_letter_queue_name
from projections.session import Session
from read_side.store import Conflict, ReadStore, Table

DISCARDS = Table("dead_letter_discards")
"""Who discarded which dead letter, and why: outside any generation."""
T = TypeVar("T")
_ATTEMPTS = 5
"""Commits tried when the live projector keeps getting in first (Conflict)."""


class DeadLetterNotFound(Exception):
    """No message with this id is in the projector's dead-letter queue."""


class DiscardFailed(Exception):
    """The stream could not go on past the letter; it stays held back, the letter stays."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message_id: str
    projector: str
    routing_key: str
    error: str
    dead_lettered_at: datetime | None
    stream_id: str | None
    """None (with version and position) when the body is not a published event."""
    stream_version: int | None
    position: int | None
    body: bytes
    headers: dict[str, Any]

    def event(self) -> PublishedEvent | None:
        try:
            return EventCodec.decode_message(self.body)
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True, slots=True)
class RetryResult:
    letter: DeadLetter
    error: str | None
    """None when the event was applied and its message removed from the queue."""
    released: int = 0
    """How many later events of its stream were applied after it."""


async def count_dead_letters(
    amqp_url: str, namespace: str, projectors: Sequence[str], *, connect_seconds: float = 10
) -> dict[str, int]:
    """How many messages each projector's dead-letter queue holds."""
    counts = dict.fromkeys(projectors, 0)
    async with await connect(amqp_url, connect_seconds) as connection:
        for name in projectors:
            # a passive declare of a missing queue closes its channel: one channel each
            async with await connection.channel() as channel:
                try:
                    queue = await channel.declare_queue(
                        dead_letter_queue_name(namespace, name), passive=True
                    )
                except aio_pika.exceptions.ChannelNotFoundEntity:
                    continue  # the projector never ran here: nothing was dead-lettered
                counts[name] = queue.declaration_result.message_count or 0
    return counts


async def list_dead_letters(amqp_url: str, namespace: str, projector: str) -> list[DeadLetter]:
    """Every dead letter of the projector, oldest first; the queue keeps them all."""
    async with _taken(amqp_url, namespace, projector) as taken:
        return [letter for _, letter in taken]


async def retry(
    amqp_url: str,
    namespace: str,
    projector: str,
    applier: Applier,
    message_ids: set[str] | None = None,
) -> list[RetryResult]:
    """Applies the chosen dead letters (None: all) again, then what waited behind each.

    A letter that fails again blocks its stream again and stays in the queue.
    """
    results = []
    async with _taken(amqp_url, namespace, projector) as taken:
        await applier.setup()
        for message, letter in taken:
            if message_ids is None or letter.message_id in message_ids:
                result = await _committed(applier, partial(_retry_one, applier, letter))
                if result.error is None:
                    await message.ack()
                results.append(result)
    return results


async def _committed(applier: Applier, change: Callable[[Session], Awaitable[T]]) -> T:
    """Makes ``change`` in a session of its own, committed with the checkpoint unmoved, so
    that it and the live projector's batches exclude each other; again on Conflict."""
    for attempt in range(1, _ATTEMPTS + 1):
        position, revision = await applier.tracking.checkpoint(applier.store)
        session = applier.session()
        outcome = await change(session)
        try:
            await applier.commit(session, position, revision)
        except Conflict:
            if attempt == _ATTEMPTS:
                raise
            continue
        return outcome
    raise AssertionError("unreachable")


async def discard(
    amqp_url: str,
    namespace: str,
    projector: str,
    applier: Applier,
    message_id: str,
    *,
    store: ReadStore,
    reason: str,
    discarded_by: str,
) -> DeadLetter:
    """Gives up on a dead letter for good: moves its stream past it, applies the stream's
    later events, and records who and why in ``store``, the raw read store."""
    async with _taken(amqp_url, namespace, projector) as taken:
        chosen = [(m, letter) for m, letter in taken if letter.message_id == message_id]
        if not chosen:
            raise DeadLetterNotFound(f"no dead letter {message_id} for projector {projector}")
        letter = chosen[0][1]
        await applier.setup()
        await store.create([DISCARDS])
        failed = await _committed(
            applier, lambda session: _discard_one(applier, session, letter, reason, discarded_by)
        )
        if failed is not None:
            raise failed
        for message, _ in chosen:  # the same event may have been dead-lettered twice
            await message.ack()
    return letter


async def _discard_one(
    applier: Applier, session: Session, letter: DeadLetter, reason: str, discarded_by: str
) -> DiscardFailed | None:
    """Moves the stream past the letter, records who and why, and applies what waited
    behind it, in one commit. A stream that cannot go on is held back again where it
    failed, and the letter stays; the record says it was skipped once it was."""
    event = letter.event()
    tracked = event if event is not None and _tracked(applier, event) else None
    if tracked is not None:
        try:
            await _apply_earlier(applier, session, tracked)
        except ApplyFailed as failure:
            return await _held_back(applier, session, failure)
        await applier.tracking.advance(session, tracked.stream_id, tracked.stream_version)
    session.put(
        DISCARDS,
        f"{letter.projector}:{letter.message_id}",
        _discard_record(letter, event, reason, discarded_by),
    )
    if tracked is not None:
        try:
            await applier.resume(session, tracked.stream_id)
        except ApplyFailed as failure:
            return await _held_back(applier, session, failure)
    return None


async def _held_back(applier: Applier, session: Session, failure: ApplyFailed) -> DiscardFailed:
    await applier.block(session, failure.event)
    stream, version = failure.event.stream_id, failure.event.stream_version
    return DiscardFailed(f"stream {stream} cannot go on past version {version}: {failure.error!r}")


async def _retry_one(applier: Applier, letter: DeadLetter, session: Session) -> RetryResult:
    """StoreUnavailable passes: nothing is acknowledged, nothing committed."""
    event = letter.event()
    if event is None:
        return RetryResult(letter, "the message is not a published event; discard it")
    tracked = _tracked(applier, event)
    try:
        if tracked:
            await applier.tracking.unblock(session, event.stream_id)
        await applier.apply(session, event)
        released = await applier.resume(session, event.stream_id) if tracked else 0
    except ApplyFailed as failure:
        if tracked:
            await applier.block(session, failure.event)
        return RetryResult(letter, repr(failure.error))
    return RetryResult(letter, None, released)


async def _apply_earlier(applier: Applier, session: Session, event: PublishedEvent) -> None:
    """Events before it that were never applied (the stream may be held further back
    than this dead letter), so that only the discarded event is skipped."""
    applied = (await applier.tracking.state(session, event.stream_id)).version
    await applier.tracking.unblock(session, event.stream_id)
    for earlier in await applier.source.stream(
        event.stream_id, after_version=applied, up_to_version=event.stream_version - 1
    ):
        await applier.apply(session, earlier)


def _tracked(applier: Applier, event: PublishedEvent) -> bool:
    return applier.projector.handles(event) and applier.projector.tracks(event)


def _discard_record(
    letter: DeadLetter, event: PublishedEvent | None, reason: str, discarded_by: str
) -> dict[str, Any]:
    return {
        "message_id": letter.message_id,
        "projector": letter.projector,
        "reason": reason,
        "discarded_by": discarded_by,
        "discarded_at": datetime.now(UTC).isoformat(),
        "event_type": event.type if event else letter.routing_key,
        "stream_id": letter.stream_id,
        "stream_version": letter.stream_version,
        "position": letter.position,
        "error": letter.error,
        "dead_lettered_at": letter.headers.get("x-dead-lettered-at"),
    }


@asynccontextmanager
async def _taken(
    amqp_url: str, namespace: str, projector: str
) -> AsyncIterator[list[tuple[AbstractIncomingMessage, DeadLetter]]]:
    """Every message of the queue, unacknowledged; what the caller does not ack goes back."""
    async with await connect(amqp_url, 10) as connection:
        channel = await connection.channel()
        try:
            queue = await channel.declare_queue(
                dead_letter_queue_name(namespace, projector), durable=True, passive=True
            )
        except aio_pika.exceptions.ChannelNotFoundEntity:
            queue = None  # the projector never ran here: nothing was dead-lettered
        taken: list[tuple[AbstractIncomingMessage, DeadLetter]] = []
        if queue is not None:
            while (message := await queue.get(no_ack=False, fail=False)) is not None:
                taken.append((message, _dead_letter(message, projector)))
        yield taken
        # Closing the connection returns the rest too, but say it: nothing is lost.
        for message, _ in taken:
            if not message.processed:
                await message.nack(requeue=True)


def _dead_letter(message: AbstractIncomingMessage, projector: str) -> DeadLetter:
    headers = dict(message.headers or {})
    try:
        event: PublishedEvent | None = EventCodec.decode_message(message.body)
    except (ValueError, KeyError, TypeError):
        event = None
    return DeadLetter(
        message_id=message.message_id or "sha256:" + hashlib.sha256(message.body).hexdigest(),
        projector=_text(headers.get("x-projector")) or projector,
        routing_key=_text(headers.get("x-routing-key")),
        error=_text(headers.get("x-error")),
        dead_lettered_at=_time(_text(headers.get("x-dead-lettered-at"))),
        stream_id=event.stream_id if event else None,
        stream_version=event.stream_version if event else None,
        position=event.position if event else None,
        body=message.body,
        headers=headers,
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None

"""Properties of the Task aggregate under random command sequences.

Each command is decided on the current state; refused commands leave the state
alone, accepted ones are appended and folded. After every step the incremental
fold must equal a replay of the whole history from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from events.envelope import Envelope
from events.tasks import Priority, TaskEvent, TaskStatus
from tests.write_side.domain.given import TASK_ID, USER_ID, envelopes, registered, user_from
from write_side.domain import tasks
from write_side.domain.errors import DomainError, InvalidTransition, TaskNotFound
from write_side.domain.tasks import Task

TODO, IN_PROGRESS, DONE, CANCELLED = (
    TaskStatus.TODO,
    TaskStatus.IN_PROGRESS,
    TaskStatus.DONE,
    TaskStatus.CANCELLED,
)
MOVES = frozenset(
    {
        (TODO, IN_PROGRESS),
        (TODO, DONE),
        (IN_PROGRESS, DONE),
        (TODO, CANCELLED),
        (IN_PROGRESS, CANCELLED),
        (DONE, TODO),
        (CANCELLED, TODO),
    }
)
"""The status changes the module docstring allows, written out independently of the code."""


@dataclass(frozen=True)
class ChangeStatus:
    wanted: TaskStatus


@dataclass(frozen=True)
class ChangeDetails:
    title: str
    description: str | None
    priority: Priority
    due_date: date | None


@dataclass(frozen=True)
class Complete:
    pass


@dataclass(frozen=True)
class Delete:
    pass


Command = ChangeStatus | ChangeDetails | Complete | Delete

# Small alphabets and ranges, so that "change to the current details" happens often.
titles = st.text(alphabet="ab", min_size=1, max_size=2)
descriptions = st.none() | st.sampled_from(["x", "y"])
priorities = st.sampled_from(Priority)
due_dates = st.none() | st.dates(min_value=date(2024, 6, 1), max_value=date(2024, 6, 3))
change_status = st.builds(ChangeStatus, st.sampled_from(TaskStatus))
live_commands: st.SearchStrategy[Command] = st.one_of(
    change_status,
    change_status,
    st.builds(ChangeDetails, titles, descriptions, priorities, due_dates),
    st.just(Complete()),
)
commands = st.one_of(live_commands, st.just(Delete()))
scripts = st.builds(
    lambda body, delete, tail: [*body, *([Delete()] if delete else []), *tail],
    st.lists(live_commands, min_size=8, max_size=40),
    st.booleans(),
    st.lists(commands, max_size=6),
)
"""Mostly live commands, so the status machine gets exercised before a likely deletion."""


def decide(task: Task, command: Command) -> list[TaskEvent]:
    match command:
        case ChangeStatus(wanted=wanted):
            return tasks.change_status(task, wanted)
        case ChangeDetails():
            return tasks.change_details(
                task,
                title=command.title,
                description=command.description,
                priority=command.priority,
                due_date=command.due_date,
            )
        case Complete():
            return tasks.complete(task)
        case Delete():
            return tasks.delete(task)


def wanted_status(command: Command) -> TaskStatus | None:
    match command:
        case ChangeStatus(wanted=wanted):
            return wanted
        case Complete():
            return DONE
    return None


def details(task: Task | ChangeDetails) -> tuple[str, str | None, Priority, date | None]:
    return (task.title, task.description, task.priority, task.due_date)


def check_refusal(before: Task, command: Command, error: DomainError) -> None:
    """Only a deleted task's commands and disallowed status moves may be refused."""
    if before.deleted:
        assert isinstance(error, TaskNotFound)
        assert error.stream_id == TASK_ID
        return
    wanted = wanted_status(command)
    assert isinstance(error, InvalidTransition)
    assert wanted is not None
    assert wanted != before.status
    assert (before.status, wanted) not in MOVES
    assert (error.current, error.wanted) == (before.status, wanted)


def check_acceptance(before: Task, command: Command, events: list[TaskEvent], after: Task) -> None:
    assert not before.deleted, "a deleted task accepted a command"
    assert (after.id, after.user_id, after.created_at) == (
        before.id,
        before.user_id,
        before.created_at,
    )
    wanted = wanted_status(command)
    if wanted is not None:
        assert (events == []) == (wanted == before.status)
        if events:
            assert (before.status, wanted) in MOVES
        assert after.status is wanted
        assert details(after) == details(before)
        assert not after.deleted
    elif isinstance(command, ChangeDetails):
        assert (events == []) == (details(command) == details(before))
        assert details(after) == details(command)
        assert after.status is before.status
        assert not after.deleted
    else:
        assert len(events) == 1
        assert after.deleted
        assert (after.status, details(after)) == (before.status, details(before))


def check_invariants(state: Task, history: list[Envelope[TaskEvent]]) -> None:
    assert isinstance(state.status, TaskStatus)
    assert state.status in set(TaskStatus)
    assert state.version == len(history)
    assert [envelope.stream_version for envelope in history] == list(range(1, len(history) + 1))
    assert tasks.replay(history) == state
    if state.deleted:
        for command in (ChangeStatus(TODO), Complete(), Delete()):
            try:
                decide(tasks.existing(state, TASK_ID), command)
            except TaskNotFound:
                continue
            raise AssertionError(f"a deleted task did not refuse {command}")


@settings(max_examples=200, deadline=None, database=None)
@given(
    title=titles,
    description=descriptions,
    priority=priorities,
    due_date=due_dates,
    script=scripts,
    split=st.integers(min_value=0),
)
def test_random_command_sequences_keep_the_task_consistent(
    title: str,
    description: str | None,
    priority: Priority,
    due_date: date | None,
    script: list[Command],
    split: int,
) -> None:
    owner = user_from(registered())
    first = tasks.create(
        owner, USER_ID, title=title, description=description, priority=priority, due_date=due_date
    )
    history = envelopes(TASK_ID, first)
    state = tasks.replay(history)
    assert state is not None
    check_invariants(state, history)

    for command in script:
        before = state
        try:
            events = decide(tasks.existing(state, TASK_ID), command)
        except DomainError as error:
            check_refusal(before, command, error)
            assert state is before
            assert tasks.replay(history) == before
            continue
        appended = envelopes(TASK_ID, events, after_version=state.version)
        for envelope in appended:
            state = tasks.evolve(state, envelope)
        history += appended
        check_acceptance(before, command, events, state)
        check_invariants(state, history)

    cut = split % (len(history) + 1)
    assert tasks.replay(history[cut:], tasks.replay(history[:cut])) == state

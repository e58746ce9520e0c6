"""Handlers for task commands."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from events.tasks import TaskEvent
from write_side.commands import UNSET, CompleteTask, CreateTask, DeleteTask, UpdateTask
from write_side.domain import access, tasks, users
from write_side.domain.tasks import Task
from write_side.executor import CommandContext, CommandExecutor, Executed, Transaction


@dataclass(frozen=True, slots=True)
class TaskHandlers:
    executor: CommandExecutor

    def _decide_on(
        self, task_id: UUID, decider: Callable[[Task], list[TaskEvent]], context: CommandContext
    ) -> Executed[Task]:
        """Runs a command that needs only the task's own state."""

        def decide(tx: Transaction) -> Task:
            task = tasks.existing(tasks.replay(tx.load_subject(task_id)), task_id)
            access.require_task_owner(context.principal, task.id, task.user_id)
            return tasks.replay(tx.record(task.id, decider(task)), task) or task

        return self.executor.run(decide, context, tasks.replay)

    def create(self, cmd: CreateTask, context: CommandContext) -> Executed[Task]:
        access.require_acting_for(context.principal, cmd.user_id, "user_id")

        def decide(tx: Transaction) -> Task:
            owner = users.replay(tx.read(cmd.user_id))
            tx.start(cmd.task_id)
            events = tasks.create(
                owner,
                cmd.user_id,
                title=cmd.title,
                description=cmd.description,
                priority=cmd.priority,
                due_date=cmd.due_date,
            )
            task = tasks.replay(tx.record(cmd.task_id, events))
            assert task is not None
            return task

        return self.executor.run(decide, context, tasks.replay)

    def update(self, cmd: UpdateTask, context: CommandContext) -> Executed[Task]:
        def decide(tx: Transaction) -> Task:
            task = tasks.existing(tasks.replay(tx.load_subject(cmd.task_id)), cmd.task_id)
            access.require_task_owner(context.principal, task.id, task.user_id)
            events = tasks.change_details(
                task,
                title=task.title if cmd.title is UNSET else cmd.title,
                description=task.description if cmd.description is UNSET else cmd.description,
                priority=task.priority if cmd.priority is UNSET else cmd.priority,
                due_date=task.due_date if cmd.due_date is UNSET else cmd.due_date,
            )
            if cmd.status is not UNSET:
                events += tasks.change_status(task, cmd.status)
            return tasks.replay(tx.record(task.id, events), task) or task

        return self.executor.run(decide, context, tasks.replay)

    def complete(self, cmd: CompleteTask, context: CommandContext) -> Executed[Task]:
        return self._decide_on(cmd.task_id, tasks.complete, context)

    def delete(self, cmd: DeleteTask, context: CommandContext) -> Executed[Task]:
        return self._decide_on(cmd.task_id, tasks.delete, context)

"""Handler for tracked activity: each fact is a new one-event stream."""

from __future__ import annotations

from dataclasses import dataclass

from events.activity import ActivityTracked
from write_side.commands import TrackActivity
from write_side.domain import access, activity
from write_side.domain.activity import Activity
from write_side.executor import CommandContext, CommandExecutor, Executed, Transaction


@dataclass(frozen=True, slots=True)
class ActivityHandlers:
    executor: CommandExecutor

    def track(self, cmd: TrackActivity, context: CommandContext) -> Executed[Activity]:
        if cmd.user_id is None:
            access.require(context.principal)
        else:
            access.require_acting_for(context.principal, cmd.user_id, "user_id")

        def decide(tx: Transaction) -> Activity:
            tx.start(cmd.activity_id)
            event = ActivityTracked(
                event_type=cmd.event_type,
                event_name=cmd.event_name,
                category=cmd.category,
                user_id=cmd.user_id,
                properties=cmd.properties,
                source_service=cmd.source_service,
            )
            tracked = activity.replay(tx.record(cmd.activity_id, [event]))
            assert tracked is not None
            return tracked

        return self.executor.run(decide, context, activity.replay)

"""FastAPI dependencies of the query API: the read side, paging, and read positions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query, Request

from common.problems import Problem
from read_side.bootstrap import ReadSide

MAX_OFFSET = 1_000_000


def _read_side(request: Request) -> ReadSide:
    read_side: ReadSide = request.app.state.read_side
    return read_side


ReadSideDep = Annotated[ReadSide, Depends(_read_side)]


@dataclass(frozen=True, slots=True)
class Paging:
    limit: int
    offset: int


def _paging(
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page")] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip")] = 0,
) -> Paging:
    return Paging(limit, offset)


PagingDep = Annotated[Paging, Depends(_paging)]


def _position_of(*projectors: str) -> Callable[..., Awaitable[int]]:
    """The lowest position among the read models a query reads, after waiting for each."""

    async def position(
        read_side: ReadSideDep,
        x_min_position: Annotated[
            int | None,
            Header(ge=0, description="Wait until the read model has applied this position"),
        ] = None,
    ) -> int:
        checkpoints = read_side.checkpoints
        if x_min_position is None:
            return min([await checkpoints.position(p) for p in projectors])
        reached = min(
            [
                await checkpoints.wait(p, x_min_position, within=read_side.consistency_wait)
                for p in projectors
            ]
        )
        if reached < x_min_position:
            raise Problem(
                504,
                f"the {' and '.join(projectors)} read models reached position {reached}, "
                f"not yet {x_min_position}; retry shortly",
                slug="not-yet-consistent",
                title="Read model behind",
                headers={"X-Read-Position": str(reached), "Retry-After": "1"},
                read_position=reached,
            )
        return reached

    return position


UsersPosition = Annotated[int, Depends(_position_of("users"))]
TasksPosition = Annotated[int, Depends(_position_of("tasks"))]
UsersAndTasksPosition = Annotated[int, Depends(_position_of("users", "tasks"))]
AnalyticsPosition = Annotated[int, Depends(_position_of("analytics"))]
AuditPosition = Annotated[int, Depends(_position_of("audit"))]

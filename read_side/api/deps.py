"""FastAPI dependencies of the query API: the read side, paging, and read positions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic.json_schema import SkipJsonSchema

from common.problems import Problem
from read_side.bootstrap import ReadSide

MAX_OFFSET = 1_000_000


async def _read_side(request: Request) -> ReadSide:
    read_side: ReadSide = request.app.state.read_side
    return read_side


ReadSideDep = Annotated[ReadSide, Depends(_read_side)]


def _query_names(dependant: Dependant) -> Iterator[str]:
    yield from (param.alias for param in dependant.query_params)
    for dependency in dependant.dependencies:
        yield from _query_names(dependency)


async def only_declared_query(request: Request) -> None:
    """Refuses unknown query parameters instead of ignoring them: a misspelt filter, or
    ``status[$ne]=x``, would otherwise quietly answer with an unfiltered list."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    declared = set(_query_names(route.dependant)) if isinstance(route, APIRoute) else set()
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        raise Problem(
            422,
            f"unknown query parameters: {', '.join(map(repr, unknown))}",
            slug="invalid-request",
            title="Invalid request",
            errors=[
                {"loc": ["query", name], "msg": "unknown parameter", "type": "extra_forbidden"}
                for name in unknown
            ],
        )


@dataclass(frozen=True, slots=True)
class Paging:
    limit: int
    offset: int


async def _paging(
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
            int | SkipJsonSchema[None],
            Header(
                ge=0,
                description="Wait until the read model has applied this position",
                json_schema_extra={"minimum": 0},  # SkipJsonSchema drops ge's from the document
            ),
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

"""JSON responses of the query API, each carrying X-Read-Position."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from common.problems import Problem
from read_side.api.deps import Paging
from read_side.bootstrap import ReadSide
from read_side.store import Criteria, Document, Table, public_view


def json_body(body: bytes, position: int) -> Response:
    return Response(body, headers={"X-Read-Position": str(position)}, media_type="application/json")


def document(doc: Document, position: int) -> Response:
    return json_body(orjson.dumps(public_view(doc)), position)


async def page(
    read_side: ReadSide, table: Table, query: Criteria, paging: Paging, position: int
) -> Response:
    """One page of the query's matches, with how many there are in all."""
    return page_of(*await read_page(read_side, table, query), paging, position)


async def read_page(
    read_side: ReadSide, table: Table, query: Criteria
) -> tuple[list[Document], int]:
    return await read_side.store.find(table, query), await read_side.store.count(table, query)


def page_of(docs: list[Document], total: int, paging: Paging, position: int) -> Response:
    return json_body(
        orjson.dumps(
            {
                "items": [public_view(d) for d in docs],
                "total": total,
                "limit": paging.limit,
                "offset": paging.offset,
                "has_next": paging.offset + len(docs) < total,
                "has_prev": paging.offset > 0,
            }
        ),
        position,
    )


def not_found(detail: str, position: int) -> Problem:
    """A 404 that, like every query answer, says which position it was read at."""
    return Problem(404, detail, headers={"X-Read-Position": str(position)})

"""JSON responses of the query API, each carrying X-Read-Position."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from common.problems import Problem
from read_side.api.deps import Paging
from read_side.store import Document, public_view


def json_body(body: bytes, position: int) -> Response:
    return Response(body, headers={"X-Read-Position": str(position)}, media_type="application/json")


def document(doc: Document, position: int) -> Response:
    return json_body(orjson.dumps(public_view(doc)), position)


def page(docs: list[Document], total: int, paging: Paging, position: int) -> Response:
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

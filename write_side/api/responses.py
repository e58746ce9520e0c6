"""Builds command responses with the headers every command answers with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.responses import Response

from write_side.executor import Executed


def _headers(executed: Executed[Any]) -> dict[str, str]:
    headers = {"ETag": f'"{executed.result.version}"', "X-Event-Position": str(executed.position)}
    if executed.replayed:
        headers["Idempotent-Replayed"] = "true"
    return headers


def resource(
    body: BaseModel, executed: Executed[Any], status: int = 200, location: str | None = None
) -> Response:
    headers = _headers(executed)
    if location is not None:
        headers["Location"] = location
    return Response(body.model_dump_json(), status, headers=headers, media_type="application/json")


def no_content(executed: Executed[Any]) -> Response:
    return Response(status_code=204, headers=_headers(executed))

"""How write-side failures become problem responses."""

from __future__ import annotations

from write_side.api.errors import to_problem
from write_side.event_store import CommitOutcomeUnknown, StoreUnavailable


def test_an_unknown_commit_outcome_is_not_told_as_a_clean_refusal() -> None:
    unknown = to_problem(CommitOutcomeUnknown("connection broke while committing"))
    refused = to_problem(StoreUnavailable("connection refused"))

    assert (unknown.status, unknown.slug) == (503, "outcome-unknown")
    assert "Idempotency-Key" in unknown.detail
    assert (refused.status, refused.slug) == (503, "unavailable")
    assert "Retry-After" in (unknown.headers or {})

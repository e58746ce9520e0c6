"""The read models' tables, as projectors write them and queries read them.

Each declares the fields its queries filter and sort on, and the indexes that serve
those queries; the adapters index exactly these (read_side.store).
"""

from __future__ import annotations

from read_side.store import Field, Table

USERS = Table(
    "users",
    fields=(Field("_username"), Field("_email"), Field("status"), Field("created_at")),
    indexes=(("_username",), ("_email",), ("created_at",), ("status", "created_at")),
    search=("username", "email", "full_name"),
)
TASKS = Table(
    "tasks",
    fields=(
        Field("user_id"),
        Field("status"),
        Field("priority"),
        Field("due_date"),
        Field("created_at"),
    ),
    indexes=(
        ("created_at",),
        ("user_id", "created_at"),
        ("status", "created_at"),
        ("priority", "created_at"),
        ("due_date",),
    ),
)
ANALYTICS_EVENTS = Table(
    "analytics_events",
    fields=(Field("user_id"), Field("timestamp")),
    indexes=(("user_id", "timestamp"),),
)
SUMMARIES = Table("activity_summaries")
AUDIT = Table(
    "audit",
    fields=(Field("stream_id"), Field("stream_version", "integer"), Field("correlation_id")),
    indexes=(("stream_id", "stream_version"), ("correlation_id",)),
)

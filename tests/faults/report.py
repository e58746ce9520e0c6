"""The fault matrix's summary table, one row per scenario, in plain text."""

from __future__ import annotations

from tests.faults.harness import Row

COLUMNS = (
    ("scenario", "scenario"),
    ("commands sent", "commands"),
    ("succeeded", "succeeded"),
    ("failed cleanly", "failed_cleanly"),
    ("outcome unknown", "unknown"),
    ("unclean", "unclean"),
    ("queries", "queries"),
    ("answered", "answered"),
    ("refused", "refused"),
    ("events stored", "events_stored"),
    ("events projected", "events_projected"),
    ("docs compared", "documents"),
    ("mismatches", "mismatches"),
    ("catch-up s", "caught_up_seconds"),
    ("slowest s", "slowest"),
)


def table(rows: list[Row]) -> str:
    cells = [[title for title, _ in COLUMNS]]
    for row in rows:
        values = [getattr(row, attribute) for _, attribute in COLUMNS]
        cells.append([f"{v:.1f}" if isinstance(v, float) else str(v) for v in values])
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = [" | ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                        enumerate(zip(line, widths, strict=True))) for line in cells]  # fmt: skip
    lines.insert(1, "-+-".join("-" * w for w in widths))
    notes = [f"  {row.scenario}: {note}" for row in rows for note in row.notes[:20]]
    return "\n".join(lines + (["problems:", *notes] if notes else []))

"""The table a sheet holds: a pivot sheet (a pivot part, or the Row Labels / Sum of … layout)
read by pivot.py, any other sheet by detect.py as records. One entry point for the ingest hook,
above both readers (pivot.py builds on detect.py, so the choice cannot live in detect.py)."""

from __future__ import annotations

from kb_agent.facts.tables.detect import Table, detect_records
from kb_agent.facts.tables.pivot import detect_pivot, is_pivot_layout
from kb_agent.facts.tables.read import Sheet


def detect_table(sheet: Sheet) -> tuple[Table | None, str]:
    """The table in ``sheet``, or None and why it is not one."""
    if sheet.pivot or is_pivot_layout(sheet.rows):
        return detect_pivot(sheet)
    return detect_records(sheet)

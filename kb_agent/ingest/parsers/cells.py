"""A spreadsheet cell's value as the text the index shows: used for sheet rows (sheets.py) and
for chart points read from cells (xlsx_charts.py), so both write 3, 2.5 and 2026-01-05 alike."""

from __future__ import annotations

import datetime as dt


def fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.6g}"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return " ".join(str(value).split())

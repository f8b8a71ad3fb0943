"""Chart data for a grouped calculation (issue #15, item 5): a value per category becomes a bar
chart, a value per date a line chart, drawn under the answer by the chat's Gradio plots.

Pure: it reads the turn's tool events, never runs a query, so the chart shows exactly what the
table in the answer shows — the same groups (the same truncated ones when a limit or the group
cap cut the list), the same values, the same order, labels written as the table writes them.
It goes by the shape of a tool's payload (an ``aggregate`` with ``groups``), not by a tool's
name, so any tool that returns an aggregate gets its chart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from kb_agent.facts.tables.aggregate import format_value
from kb_agent.results import ToolEvent

if TYPE_CHECKING:
    import pandas as pd

#: A chart of one bar or one point says nothing the sentence does not ("which city sold most?").
MIN_POINTS = 2
EMPTY_LABEL = "(empty)"  # as the table writes a group whose cell is blank
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?$")  # how the table store keeps dates


@dataclass(frozen=True)
class ChartData:
    """What the chat plots: ``rows`` of {label, value[, series]} in the table's order."""

    kind: str                     # "bar" (categories) | "line" (dates)
    title: str
    x_title: str                  # the group column on the x axis
    y_title: str                  # "sum of Amount"
    series_title: str | None      # the second group column (one bar colour / line per value)
    rows: tuple[dict[str, Any], ...]

    @property
    def labels(self) -> list[str]:
        """The x labels in the table's order, each once (the bar chart's category order)."""
        return list(dict.fromkeys(r["label"] for r in self.rows))

    def frame(self) -> "pd.DataFrame":
        """The rows as the DataFrame Gradio's plots take; dates as datetimes for a time axis."""
        import pandas as pd

        columns = ["label", "value"] + (["series"] if self.series_title else [])
        df = pd.DataFrame([{k: r[k] for k in columns} for r in self.rows], columns=columns)
        if self.kind == "line":
            df["label"] = pd.to_datetime(df["label"])
        return df


def turn_chart(events: Iterable[ToolEvent]) -> ChartData | None:
    """The chart of the last grouped aggregate among a turn's tool events, or None (no grouped
    result, an error, values that are not numbers, fewer than two points)."""
    chart = None
    for event in events:
        if event.error:
            continue
        payload = event.output.payload if isinstance(event.output.payload, dict) else {}
        found = aggregate_chart(payload.get("aggregate"))
        if found is not None:
            chart = found
    return chart


def aggregate_chart(agg: Any) -> ChartData | None:
    """Chart data from an aggregate's ``to_dict()`` (the fact_query payload's ``aggregate``)."""
    if not isinstance(agg, dict):
        return None
    group_by = [str(c) for c in agg.get("group_by") or []]
    groups = [g for g in agg.get("groups") or [] if isinstance(g, dict) and isinstance(g.get("group"), dict)]
    if not group_by or not groups:
        return None
    points = [g for g in groups if _number(g.get("value")) is not None]
    if any(g.get("value") is not None and _number(g.get("value")) is None for g in groups):
        return None  # min/max of a text or date column: nothing to draw a bar of
    if len(points) < MIN_POINTS:
        return None
    dates = [c for c in group_by if all(_is_date(g["group"].get(c)) for g in points)]
    x = dates[0] if dates else group_by[0]
    series = next((c for c in group_by if c != x), None)
    rows = []
    for g in points:
        row = {"label": _label(g["group"].get(x)), "value": _number(g["value"])}
        if series is not None:
            row["series"] = _label(g["group"].get(series))
        rows.append(row)
    kind = "line" if dates else "bar"
    if kind == "line":
        rows.sort(key=lambda r: r["label"])  # a line runs left to right in time
    y_title = f"{agg.get('function') or 'value'} of {agg.get('column') or 'rows'}"  # as the table's text says
    title = f"{y_title} by {' and '.join(group_by)}"
    total = agg.get("total_groups")
    if agg.get("truncated") and isinstance(total, int):
        title += f" (showing {len(groups)} of {total} groups)"
    return ChartData(kind, title, x, y_title, series, tuple(rows))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _is_date(value: Any) -> bool:
    return isinstance(value, str) and bool(_ISO_DATE.match(value))


def _label(value: Any) -> str:
    return EMPTY_LABEL if value is None else format_value(value)

"""Finds the table in a sheet grid: header row (below title rows, possibly two rows), columns,
types (numbers stored as text, dates), and the data rows with their sheet row numbers.

Pure functions over the grids from read.py; every row or sheet left out gets a reason. A pivot
sheet (a pivot part, or the Row Labels / Sum of … layout) is read by pivot.py instead, as a
table marked ``pivot``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from openpyxl.utils import get_column_letter

from kb_agent.facts.tables.read import Sheet

_SCAN_ROWS = 30
#: Columns a table may have: each is stored twice (typed value and display text) beside the row
#: number, and SQLite allows 2,000 columns in a table. A wider sheet stays in the text index.
MAX_COLUMNS = 999
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$|^[+-]?\.\d+$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_TOTAL = re.compile(r"^(合计|总计|小计|总和|grand\s*total|sub\s*-?total|total)s?[:：]?$", re.IGNORECASE)
#: Cell texts that mean "no value" (compared lower-case, after display() collapsed whitespace): they
#: do not count against a column's type, and aggregates count them as rows without a value.
NA_TEXTS = ("na", "n/a", "n.a.", "#n/a", "null", "none", "nan", "-", "--", "—", "–", "?", "tbd", "不适用", "暂无")


@dataclass(frozen=True)
class Column:
    idx: int          # 0-based position in the sheet
    name: str
    type: str         # text | number | date

    @property
    def letter(self) -> str:
        return get_column_letter(self.idx + 1)


@dataclass
class Table:
    sheet: str
    header_rows: tuple[int, ...]               # 1-based sheet rows
    columns: list[Column]
    rows: list[tuple[int, list[tuple[Any, str]]]]  # (sheet row, [(typed value, display text)] per column)
    notes: list[str] = field(default_factory=list)
    pivot: bool = False   # the rendered cells of a pivot table (aggregates), see pivot.py

    @property
    def first_row(self) -> int:
        return self.rows[0][0] if self.rows else self.header_rows[-1] + 1


def display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.10g}"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, (date, time)):
        return value.isoformat() if isinstance(value, date) else value.strftime("%H:%M")
    return " ".join(str(value).split())


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip().lstrip("¥￥$€").strip()
    pct = text.endswith("%")
    text = text.rstrip("%").strip()
    if not _NUMBER.match(text):
        return None
    digits = text.lstrip("+-").split(".")[0].replace(",", "")
    if len(digits) > 1 and digits.startswith("0"):
        return None  # a code such as 0755 or 007, not a quantity
    number = float(text.replace(",", ""))
    return number / 100 if pct else number


def as_date(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        m = _DATE.match(value.strip())
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
            except ValueError:
                return None
    return None


def _is_label(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and as_number(value) is None and as_date(value) is None


def _nonempty(row: list[Any]) -> list[int]:
    return [i for i, v in enumerate(row) if display(v)]


def _is_year(value: Any) -> bool:
    number = as_number(value) if not isinstance(value, float) or value.is_integer() else None
    return number is not None and number.is_integer() and 1900 <= number <= 2100


def _header_score(row: list[Any], width: int) -> bool:
    cells = _nonempty(row)
    # Year columns ("Item | 2024 | 2025 | 2026") are header labels when the row starts with a label.
    year_ok = bool(cells) and _is_label(row[cells[0]])
    labels = [i for i in cells if _is_label(row[i]) or (year_ok and _is_year(row[i]))]
    distinct = {display(row[i]) for i in cells}
    return len(distinct) >= 2 and len(labels) >= 0.6 * len(cells) and len(cells) >= max(2, 0.5 * width)


def _second_header(top: list[Any], below: list[Any], rest: list[list[Any]]) -> bool:
    """Is ``below`` a second header row under ``top`` (sub-headers under merged groups)?

    Evidence: ``top`` has adjacent equal cells (a merged group, filled by read.py), or gaps
    above ``below``'s labels while the rows further down hold numbers or dates in those
    columns. A first data row made only of text under a header with an empty cell is not one.
    """
    cells = _nonempty(below)
    if len(cells) < 2 or not all(_is_label(below[i]) for i in cells) or not rest:
        return False
    if not any(display(top[i]) != display(below[i]) for i in cells if i < len(top)):
        return False
    top_cells = _nonempty(top)
    merged = any(display(top[i]) == display(top[i + 1]) for i in top_cells if i + 1 < len(top) and display(top[i]))
    if merged:
        return True
    gaps = [i for i in cells if i not in top_cells]
    if not gaps:
        return False
    sample = rest[:10]
    for i in cells:
        values = [r[i] for r in sample if i < len(r) and display(r[i])]
        typed = [v for v in values if as_number(v) is not None or as_date(v) is not None]
        if values and len(typed) >= 0.5 * len(values):
            return True
    return False


def _find_header(rows: list[list[Any]], width: int) -> int | None:
    """The first header-like row, unless a clearly wider one follows soon: a metadata line
    such as "部门: HR  日期: 2026-01-05" above the real header is narrower than it."""
    candidates = [i for i, r in enumerate(rows[:_SCAN_ROWS]) if _header_score(r, width)]
    if not candidates:
        return None
    labels = {i: sum(1 for c in _nonempty(rows[i]) if _is_label(rows[i][c])) for i in candidates}
    best = candidates[0]
    for i in candidates[1:]:
        if i - best > 10:
            break
        if labels[i] >= labels[best] + 2:
            best = i
    return best


def detect_records(sheet: Sheet) -> tuple[Table | None, str]:
    """The table of records in ``sheet`` (not a pivot: see sheet_table.py), or None and why
    it is not one."""
    rows = sheet.rows
    width = max((len(_nonempty(r)) for r in rows[:200]), default=0)
    if width < 2:
        return None, "no table (fewer than two filled columns)"
    header_idx = _find_header(rows, width)
    if header_idx is None:
        return None, f"no header row found in the first {_SCAN_ROWS} rows"
    header = rows[header_idx]
    header_rows = [header_idx]
    nxt = rows[header_idx + 1] if header_idx + 1 < len(rows) else None
    if nxt is not None and _second_header(header, nxt, rows[header_idx + 2:]):
        header_rows.append(header_idx + 1)
    used = sorted({i for r in rows[header_idx:] for i in _nonempty(r)})
    if len(used) > MAX_COLUMNS:
        return None, f"{len(used):,} columns, more than a table may have ({MAX_COLUMNS}): indexed as text only"
    names, seen = [], {}
    for c in used:
        parts = []
        for h in header_rows:
            text = display(rows[h][c]) if c < len(rows[h]) else ""
            if text and text not in parts:
                parts.append(text)
        name = " / ".join(parts) or f"Column {get_column_letter(c + 1)}"
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    header_texts = [[display(rows[h][c]) if c < len(rows[h]) else "" for c in used] for h in header_rows]
    notes = [f"row {i + 1}: title row above the header" for i in range(header_idx) if _nonempty(rows[i])]
    data: list[tuple[int, list[Any]]] = []
    for i in range(header_rows[-1] + 1, len(rows)):
        row = rows[i]
        values = [row[c] if c < len(row) else None for c in used]
        texts = [display(v) for v in values]
        if not any(texts):
            continue  # blank row
        if texts in header_texts:
            notes.append(f"row {i + 1}: repeated header row")
            continue
        first = next(t for t in texts if t)
        if _TOTAL.match(first):
            notes.append(f"row {i + 1}: total row ({first}) left out")
            continue
        data.append((i + 1, values))
    if not data:
        return None, "header found but no data rows"
    columns = [Column(c, name, _infer_type([vals[j] for _, vals in data])) for j, (c, name) in enumerate(zip(used, names))]
    typed_rows = [(num, [_typed(v, col.type) for v, col in zip(vals, columns)]) for num, vals in data]
    if sheet.truncated_at:
        notes.append(f"only the first {sheet.truncated_at} rows were loaded")
    return Table(sheet.name, tuple(h + 1 for h in header_rows), columns, typed_rows, notes), ""


def _infer_type(values: list[Any]) -> str:
    filled = [v for v in values if display(v) and display(v).lower() not in NA_TEXTS]
    if not filled:
        return "text"
    for kind, conv in (("date", as_date), ("number", as_number)):
        ok = sum(1 for v in filled if conv(v) is not None)
        if ok >= 0.9 * len(filled):
            return kind
    return "text"


def _typed(value: Any, kind: str) -> tuple[Any, str]:
    text = display(value)
    if not text:
        return None, ""
    if kind == "number":
        return as_number(value), text
    if kind == "date":
        return as_date(value), text
    return text, text

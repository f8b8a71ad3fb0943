"""Pivot sheets as tables: the rendered grid of a pivot table read as a table marked as a pivot.

A pivot's cells are aggregates, not records, but they are what people look at and ask about
("the average order value of the East region in the pivot"). The layouts Excel renders are
recognised by their captions: "Row Labels"/"行标签", "Column Labels"/"列标签", "Sum of X"/
"求和项:X" (and the other functions), "Grand Total"/"总计".

Why the **wide form** (one stored row per pivot row, one column per value field × column item,
named "Sum of Amount / Q1") rather than a long, tidy form (label, column label, value): the
table store cites a cell as ``column letter + sheet row``, one letter per column. In the wide
form every stored value is exactly the sheet cell a reader sees, so a filter on the row labels
("Row Labels = East") cites that cell; a long form would need a different letter per row and
would lose exact citations. The column labels are still queryable: they are part of the column
names, which resolve like any header ("Q1" or "Amount" alone when unique).

Left out and reported: grand-total rows and columns and subtotal rows (sums of other cells:
aggregating over them would count twice). Row labels of an outline/tabular layout that are
shown only once per group are filled down. Not recognised: nested row fields in the compact
layout (parent and child items in one column, told apart only by indentation), whose parent
rows then read as ordinary rows; the pivot's own cache (source data) is not read.
"""

from __future__ import annotations

import re
from typing import Any

from openpyxl.utils import get_column_letter

from kb_agent.facts.tables.detect import Column, Table, _infer_type, _typed, as_number, display
from kb_agent.facts.tables.read import Sheet

_SCAN_ROWS = 30
ROW_LABELS = re.compile(r"^(row labels|行标签)$", re.IGNORECASE)
COLUMN_LABELS = re.compile(r"^(column labels|列标签|values|数值|值)$", re.IGNORECASE)
#: A value field's caption: "Sum of Amount", "Average of Price", "求和项:金额", "平均值项：单价".
CAPTION = re.compile(r"^\s*(?:(?:sum|count|average|max|min|product|count numbers|stddevp?|varp?) of |"
                     r"(?:求和项|计数项|平均值项|最大值项|最小值项|乘积项|数值计数项|标准偏差项|方差项)\s*[:：]\s*)(.+)$",
                     re.IGNORECASE)
GRAND_TOTAL = re.compile(r"^(grand\s*total|总计)$", re.IGNORECASE)
#: "East Total", "Total Sum of Amount", "华东 汇总", "小计".
SUBTOTAL = re.compile(r"^(.+\s+total|total\s+.+|.*汇总|.*合计|.*小计|(sub\s*-?)?total)$", re.IGNORECASE)


def caption_field(name: str) -> str | None:
    """The field a value caption is about: "Sum of Amount" -> "Amount", "求和项:金额" -> "金额"."""
    m = CAPTION.match(name)
    return m[1].strip() if m else None


def _text(row: list[Any], c: int) -> str:
    return display(row[c]) if c < len(row) else ""


def is_pivot_layout(rows: list[list[Any]]) -> bool:
    """Does the grid carry a pivot header ("Row Labels", or a header row of "Sum of …" captions)?"""
    return _block(rows) is not None


def _filled(row: list[Any]) -> list[str]:
    return [t for t in map(display, row) if t]


def _block(rows: list[list[Any]]) -> tuple[int, int] | None:
    """(first, last) header rows of the pivot, 0-based, or None.

    The last header row is the "Row Labels" row when there is one; without it (tabular layout,
    field names as headers) a header-like row holding a caption, extended down to the row
    before the first numbers. The first is found by walking up over the caption and column-item
    rows directly above (page filters above a pivot are separated from it by a blank row).
    """
    end = next((i for i, r in enumerate(rows[:_SCAN_ROWS]) if any(ROW_LABELS.match(t) for t in _filled(r))), None)
    if end is None:
        start = next((i for i, r in enumerate(rows[:_SCAN_ROWS])
                      if any(CAPTION.match(t) for t in _filled(r)) and len(_filled(r)) >= 2
                      and not any(as_number(v) is not None for v in r)), None)
        if start is None:
            return None
        end = start
        while end + 1 < min(len(rows), start + 4) and _filled(rows[end + 1]) \
                and not any(as_number(v) is not None for v in rows[end + 1]):
            end += 1
        top = start
    else:
        top = end
    while top > 0 and end - top < 4 and _filled(rows[top - 1]) \
            and not any(as_number(v) is not None for v in rows[top - 1]):
        top -= 1
    return top, end


def _is_number(value: Any) -> bool:
    return as_number(value) is not None


def detect_pivot(sheet: Sheet) -> tuple[Table | None, str]:
    """The pivot in ``sheet`` as a table (``pivot=True``), or None and why it is not one."""
    rows = sheet.rows
    block = _block(rows)
    if block is None:
        return None, ("pivot table sheet whose cells show no pivot layout (Row Labels / Sum of …): "
                      "indexed as text only")
    top, end = block
    body: list[tuple[int, list[Any]]] = []
    for i in range(end + 1, len(rows)):
        if not any(display(v) for v in rows[i]):
            if body:
                break  # the pivot ends at its first blank row; what follows is something else
            continue
        body.append((i, rows[i]))
    header = rows[end]
    first = next((c for c, v in enumerate(header) if display(v)), None)
    if first is None or not body:
        return None, "pivot layout without data rows: indexed as text only"
    width = max(len(r) for r in (header, *(r for _, r in body)))
    # Label columns: the leading columns whose data cells are text; values are numbers.
    labels: list[int] = []
    for c in range(first, width):
        cells = [r[c] for _, r in body if c < len(r) and display(r[c])]
        row_labels = c == first and bool(ROW_LABELS.match(_text(header, c)))  # may be years
        if cells and (row_labels or sum(map(_is_number, cells)) < 0.5 * len(cells)):
            labels.append(c)
        elif labels or cells:
            break
    if not labels:
        return None, "pivot layout without row labels: indexed as text only"
    values = [c for c in range(labels[-1] + 1, width)
              if _text(header, c) or any(_text(r, c) for _, r in body)]
    notes: list[str] = []
    # Header parts of each value column, column items filled right (an item spans its fields).
    captions = [t for h in range(top, end + 1) for c in range(0, labels[-1] + 1)
                if CAPTION.match(t := _text(rows[h], c))]
    names: dict[int, str] = {}
    filled = {h: "" for h in range(top, end)}
    for c in range(labels[-1] + 1, width):
        parts = []
        for h in range(top, end + 1):
            t = _text(rows[h], c)
            if h < end:
                filled[h] = t or filled[h]
                t = filled[h]
            if t and not COLUMN_LABELS.match(t) and t not in parts:
                parts.append(t)
        if c not in values:
            continue
        if not any(CAPTION.match(p) for p in parts) and len(captions) == 1:
            parts.insert(0, captions[0])
        if any(GRAND_TOTAL.match(p) or (SUBTOTAL.match(p) and not CAPTION.match(p)) for p in parts):
            notes.append(f"column {get_column_letter(c + 1)} ({' / '.join(parts)}): total column left out")
            continue
        names[c] = " / ".join(parts) or f"Column {get_column_letter(c + 1)}"
    if not names:
        return None, "pivot layout without value columns: indexed as text only"
    used = [*labels, *names]
    col_names = [_text(header, c) or ("Row Labels" if i == 0 else f"Row Labels {i + 1}")
                 for i, c in enumerate(labels)] + [names[c] for c in names]
    seen: dict[str, int] = {}
    for i, n in enumerate(col_names):
        seen[n] = seen.get(n, 0) + 1
        col_names[i] = n if seen[n] == 1 else f"{n} ({seen[n]})"
    data: list[tuple[int, list[Any]]] = []
    last: list[Any] = [None] * len(labels)
    for i, row in body:
        cells = [row[c] if c < len(row) else None for c in used]
        label_texts = [display(v) for v in cells[:len(labels)]]
        shown = next((t for t in label_texts if t), "")
        if GRAND_TOTAL.match(shown):
            notes.append(f"row {i + 1}: grand total row ({shown}) left out")
            continue
        if SUBTOTAL.match(shown) or (len(labels) > 1 and not label_texts[-1]):
            notes.append(f"row {i + 1}: subtotal row ({shown or 'no label'}) left out")
            continue
        for j, t in enumerate(label_texts):  # labels shown once per group are filled down
            if t:
                last[j] = cells[j]
            else:
                cells[j] = last[j]
        data.append((i + 1, cells))
    if not data:
        return None, "pivot layout with only total rows: indexed as text only"
    columns = [Column(c, n, _infer_type([vals[j] for _, vals in data])) for j, (c, n) in enumerate(zip(used, col_names))]
    typed = [(num, [_typed(v, col.type) for v, col in zip(vals, columns)]) for num, vals in data]
    if sheet.truncated_at:
        notes.append(f"only the first {sheet.truncated_at} rows were loaded")
    return Table(sheet.name, tuple(range(top + 1, end + 2)), columns, typed, notes, pivot=True), ""

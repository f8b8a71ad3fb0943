"""Reads spreadsheet files into plain grids: XLSX/XLSM (openpyxl), legacy XLS (xlrd), CSV.

Merged cells are filled with their top-left value in every cell they cover, so a merged
group header or a merged "city" cell spanning rows reads the same in each position. Sheets
with a pivot-table part are flagged (``pivot=True``): their cells are aggregates, not records,
and pivot.py reads them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb_agent.errors import FactError

SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")


@dataclass
class Sheet:
    name: str
    rows: list[list[Any]]
    pivot: bool = False
    truncated_at: int | None = None  # rows beyond this were not read
    notes: list[str] = field(default_factory=list)


def _fill_merged(rows: list[list[Any]], ranges: list[tuple[int, int, int, int]]) -> None:
    """``ranges``: (min_row, min_col, max_row, max_col), 0-based inclusive."""
    for r0, c0, r1, c1 in ranges:
        if r0 >= len(rows):
            continue
        value = rows[r0][c0] if c0 < len(rows[r0]) else None
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            row = rows[r]
            if len(row) <= c1:
                row.extend([None] * (c1 + 1 - len(row)))
            for c in range(c0, c1 + 1):
                if r != r0 or c != c0:
                    row[c] = value


def _read_xlsx(path: Path, max_rows: int) -> list[Sheet]:
    import openpyxl

    wb = openpyxl.load_workbook(path, data_only=True)  # not read_only: merged cells need it
    sheets = []
    try:
        for ws in wb.worksheets:
            rows, truncated = [], None
            for i, row in enumerate(ws.iter_rows(values_only=True)):
                if i >= max_rows:
                    truncated = max_rows
                    break
                rows.append(list(row))
            _fill_merged(rows, [(m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1)
                                for m in ws.merged_cells.ranges])
            sheets.append(Sheet(ws.title, rows, pivot=bool(getattr(ws, "_pivots", None)), truncated_at=truncated))
    finally:
        wb.close()
    return sheets


def _read_xls(path: Path, max_rows: int) -> list[Sheet]:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), formatting_info=True)
    except NotImplementedError:  # formatting_info is not supported for some files
        book = xlrd.open_workbook(str(path))
    sheets = []
    for ws in book.sheets():
        n = min(ws.nrows, max_rows)
        rows = []
        for r in range(n):
            row = []
            for c in range(ws.ncols):
                cell = ws.cell(r, c)
                if cell.ctype == xlrd.XL_CELL_DATE:
                    try:
                        row.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
                    except Exception:
                        row.append(cell.value)
                elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    row.append(None)
                elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                    row.append(bool(cell.value))
                elif cell.ctype == xlrd.XL_CELL_ERROR:
                    row.append(None)
                else:
                    row.append(cell.value)
            rows.append(row)
        merged = getattr(ws, "merged_cells", None) or []
        _fill_merged(rows, [(r0, c0, r1 - 1, c1 - 1) for r0, r1, c0, c1 in merged])
        sheets.append(Sheet(ws.name, rows, truncated_at=max_rows if ws.nrows > max_rows else None))
    return sheets


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _read_csv(path: Path, max_rows: int) -> list[Sheet]:
    text = _decode(path.read_bytes())
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows, truncated = [], None
    for i, row in enumerate(csv.reader(io.StringIO(text), dialect)):
        if i >= max_rows:
            truncated = max_rows
            break
        rows.append([v if v.strip() else None for v in row])
    # A CSV has no sheet; its single table is called after the file (citations: file.csv!Sheet1!B3).
    return [Sheet("Sheet1", rows, truncated_at=truncated)]


def read_sheets(path: Path, max_rows: int = 100_000) -> list[Sheet]:
    """All sheets of a spreadsheet file; raises :class:`FactError` with one clear line."""
    path = Path(path)
    suffix = path.suffix.lower()
    readers = {".xlsx": _read_xlsx, ".xlsm": _read_xlsx, ".xls": _read_xls, ".csv": _read_csv}
    if suffix not in readers:
        raise FactError(f"{path.name}: not a spreadsheet (expected {', '.join(SUFFIXES)})")
    try:
        return readers[suffix](path, max_rows)
    except FactError:
        raise
    except Exception as exc:
        raise FactError(f"{path.name}: cannot read spreadsheet ({type(exc).__name__}: {exc})") from exc


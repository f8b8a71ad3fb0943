"""Spreadsheets: XLSX/XLSM (openpyxl; read-only mode as a fallback), old binary XLS (xlrd)
and CSV. Per sheet, the header row is found (it is not always the first row: title and blank
rows occur), merged cells are filled from their top-left cell, and each data row becomes
"列名: 值; 列名: 值". Locator: sheet name and the row's cell range (rows are packed into chunks
by the chunker, which merges the ranges). XLSX charts follow their sheet's rows as text
(title, series, category = value; see charts.py), located on the sheet they are drawn on; a
broken chart or drawing costs only its charts (xlsx_charts.py)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from kb_agent.chunk import Locator
from kb_agent.errors import ParseError
from kb_agent.ingest.chunking import col_letter
from kb_agent.ingest.model import ParsedDoc, ParseOptions, Section
from kb_agent.ingest.parsers.cells import fmt
from kb_agent.ingest.parsers.ooxml import stub_broken_parts
from kb_agent.ingest.parsers.xlsx_charts import STUBS, chart_sections

MAX_ROWS_PER_SHEET = 200_000


def find_header(rows: list[list[str]]) -> int | None:
    """Index of the header row among the first 15: the first row with >= 2 filled cells, all
    of them non-numeric text, followed by a row with data."""
    width = max((sum(1 for c in r if c) for r in rows[:50]), default=0)
    for i, row in enumerate(rows[:15]):
        filled = [c for c in row if c]
        if len(filled) >= max(2, (width + 1) // 2) and len(set(filled)) == len(filled) \
                and all(not _numeric(c) for c in filled) and any(any(r) for r in rows[i + 1:i + 3]):
            return i
    return None


def _numeric(s: str) -> bool:
    try:
        float(s.replace(",", ""))
        return True
    except ValueError:
        return False


def sheet_sections(name: str, rows: list[list[str]], first_row: int = 1) -> list[Section]:
    """``rows`` are cell strings of consecutive sheet rows starting at row ``first_row``."""
    out: list[Section] = []
    h = find_header(rows)
    caption = ""
    if h is not None:
        above = [" ".join(dict.fromkeys(c for c in r if c)) for r in rows[:h] if any(r)]
        caption = "; ".join(above)
        header = rows[h]
        start = h + 1
    else:
        header, start = [], 0
    for k in range(start, len(rows)):
        row = rows[k]
        cols = [j for j, c in enumerate(row) if c]
        if not cols:
            continue
        if header:
            pairs = [f"{header[j] if j < len(header) and header[j] else col_letter(j + 1)}: {row[j]}" for j in cols]
            text = "; ".join(pairs)
        else:
            text = " | ".join(row[j] for j in cols)
        if caption:
            text = f"[{caption}] {text}"
        r = first_row + k
        last = max(cols[-1] + 1, len(header))
        out.append(Section(Locator.for_sheet(name, f"A{r}:{col_letter(last)}{r}"), text))
    return out


class XlsxParser:
    suffixes = (".xlsx", ".xlsm")

    def parse(self, path: Path, options: ParseOptions) -> ParsedDoc:
        out = ParsedDoc()
        wb = self._open(path, out)
        try:
            out.title = (wb.properties.title or "").strip() if wb.properties else ""
            charts: dict[str, list[Section]] = {}
            for sec in chart_sections(path, wb, out.notes):
                charts.setdefault(sec.locator.sheet or "", []).append(sec)
            for ws in wb.worksheets:
                rows = self._rows(ws, out)
                out.sections += sheet_sections(ws.title, rows) + charts.pop(ws.title, [])
            out.sections += [sec for secs in charts.values() for sec in secs]  # chart sheets
        finally:
            wb.close()
        if not out.sections:
            raise ParseError(str(path), "no data in any sheet")
        return out

    @staticmethod
    def _open(path: Path, out: ParsedDoc):
        """The workbook in full; else with its broken drawings and charts emptied (they are
        reported by chart_sections); else in read-only mode, which tolerates more."""
        import openpyxl

        try:
            return openpyxl.load_workbook(path, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for broken parts
            first = exc
        stubbed = stub_broken_parts(path, STUBS)
        if stubbed.data is not None:
            try:
                return openpyxl.load_workbook(stubbed.data, data_only=True)
            except Exception:  # noqa: BLE001
                pass
        try:
            wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
        except Exception as exc:  # noqa: BLE001
            raise ParseError(str(path), f"corrupt Excel file ({type(exc).__name__}: {first})"[:300]) from exc
        out.notes.append("opened in read-only mode (merged cells not filled)")
        return wb

    @staticmethod
    def _rows(ws, out: ParsedDoc) -> list[list[str]]:
        rows: list[list[str]] = []
        for i, row in enumerate(ws.iter_rows(values_only=True)):
            if i >= MAX_ROWS_PER_SHEET:
                out.notes.append(f"sheet {ws.title}: only the first {MAX_ROWS_PER_SHEET} rows read")
                break
            rows.append([fmt(v) for v in row])
        for rng in getattr(ws, "merged_cells", None) and ws.merged_cells.ranges or ():
            top = rows[rng.min_row - 1][rng.min_col - 1] if rng.min_row - 1 < len(rows) else ""
            for r in range(rng.min_row - 1, min(rng.max_row, len(rows))):
                for c in range(rng.min_col - 1, rng.max_col):
                    while len(rows[r]) <= c:
                        rows[r].append("")
                    if c != rng.min_col - 1 or r != rng.min_row - 1:
                        # a merged title row keeps one copy; a merged data column repeats its value
                        rows[r][c] = top if rng.min_row != rng.max_row else ""
        return rows


class XlsParser:
    suffixes = (".xls",)

    def parse(self, path: Path, options: ParseOptions) -> ParsedDoc:
        try:
            import xlrd
        except ImportError as exc:  # pragma: no cover - a base dependency
            raise ParseError(str(path), "old .xls needs xlrd (pip install xlrd)") from exc
        try:
            book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
        except Exception:  # noqa: BLE001 - formatting_info fails on some files; retry without
            try:
                book = xlrd.open_workbook(str(path), on_demand=True)
            except Exception as exc:  # noqa: BLE001
                reason = "encrypted (password-protected Excel file)" if "encrypt" in str(exc).lower() \
                    else f"corrupt .xls file ({type(exc).__name__}: {exc})"[:300]
                raise ParseError(str(path), reason) from exc
        out = ParsedDoc()
        for sh in book.sheets():
            rows = []
            for r in range(min(sh.nrows, MAX_ROWS_PER_SHEET)):
                vals = []
                for c in range(sh.ncols):
                    cell = sh.cell(r, c)
                    v = cell.value
                    if cell.ctype == xlrd.XL_CELL_DATE:
                        try:
                            v = xlrd.xldate.xldate_as_datetime(v, book.datemode)
                        except Exception:  # noqa: BLE001
                            pass
                    vals.append(fmt(v) if v != "" else "")
                rows.append(vals)
            for r0, r1, c0, c1 in getattr(sh, "merged_cells", []) or []:
                if r1 - r0 > 1:
                    for r in range(r0 + 1, min(r1, len(rows))):
                        for c in range(c0, c1):
                            rows[r][c] = rows[r0][c0]
            out.sections += sheet_sections(sh.name, rows)
        if not out.sections:
            raise ParseError(str(path), "no data in any sheet")
        return out


class CsvParser:
    suffixes = (".csv", ".tsv")

    def parse(self, path: Path, options: ParseOptions) -> ParsedDoc:
        from kb_agent.ingest.parsers.text import decode

        text = decode(path, path.read_bytes())
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
        rows = [[" ".join(c.split()) for c in r] for r in csv.reader(io.StringIO(text), dialect)]
        sections = sheet_sections(path.stem, rows[:MAX_ROWS_PER_SHEET])
        if not sections:
            raise ParseError(str(path), "no rows")
        return ParsedDoc(sections=sections)

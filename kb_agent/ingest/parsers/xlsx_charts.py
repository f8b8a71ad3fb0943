"""The charts of an XLSX workbook, found through the package's relationships (sheet or chart
sheet -> drawing -> chart part), as sections with a sheet locator: the sheet the chart is
drawn on and, when all the cells it plots are on that sheet, their bounding range
("Sales!A1:C5"). A chart openpyxl wrote has no value caches: its cells are read from the
workbook instead, never more of them than the chart may show.

A broken drawing or chart costs only itself: the report says "Sales: chart 2 not read
(XMLSyntaxError)" and the other charts and every cell are kept."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from kb_agent.chunk import Locator
from kb_agent.errors import ParseError
from kb_agent.ingest.chunking import col_letter
from kb_agent.ingest.model import Section
from kb_agent.ingest.parsers.cells import fmt
from kb_agent.ingest.parsers.charts import MAX_POINTS, STUBS as CHART_STUBS, Resolver, chart_rids, parse_chart
from kb_agent.ingest.parsers.ooxml import part_rels, part_xml

_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?$")
#: Empty parts put in place of broken ones so that openpyxl opens the workbook in full
#: (ooxml.stub_broken_parts); the charts they held are reported by ``chart_sections``.
STUBS = {**CHART_STUBS, "drawing": b'<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/'
                                   b'spreadsheetDrawing"/>'}
#: Cells one formula may have read from the workbook (a chart's categories follow its values).
MAX_CELLS = 4 * MAX_POINTS


def chart_sections(path: Path, workbook=None, notes: list[str] | None = None) -> list[Section]:
    """Sections for every chart in the workbook, in sheet order; ``workbook`` (openpyxl, values)
    resolves series without caches. What cannot be read is said in ``notes``."""
    notes = notes if notes is not None else []
    resolve = _resolver(workbook) if workbook is not None else None
    out = []
    try:
        with zipfile.ZipFile(path) as zf:
            for sheet, number, part in _chart_parts(zf, notes):
                try:
                    chart = parse_chart(part_xml(zf, part), resolve)
                except ParseError as exc:
                    reason = exc.reason if exc.reason.startswith("chart not read") else f"chart not read ({exc.reason})"
                    notes.append(f"{sheet}: chart {number} {reason.removeprefix('chart ')}")
                    continue
                text = chart.text()
                if text:
                    out.append(Section(Locator.for_sheet(sheet, _range_on(sheet, chart.refs)), text))
    except (zipfile.BadZipFile, OSError) as exc:
        notes.append(f"charts not read ({type(exc).__name__})")
    return out


def _chart_parts(zf: zipfile.ZipFile, notes: list[str]):
    """(sheet name, chart number on the sheet, chart part name) in sheet and drawing order."""
    try:
        wb_rels = part_rels(zf, "xl/workbook.xml")
        sheets = list(part_xml(zf, "xl/workbook.xml").iter(f"{_S}sheet"))
    except ParseError as exc:
        notes.append(f"charts not read ({exc.reason})")
        return
    for sh in sheets:
        name = sh.get("name") or ""
        target = wb_rels.get(sh.get(_R_ID) or "")
        if not target:
            continue
        number = 0
        try:
            drawings = [t for typ, t in part_rels(zf, target[1]).values() if typ.endswith("/drawing")]
            for drawing in drawings:
                d_rels = part_rels(zf, drawing)
                for rid in chart_rids(part_xml(zf, drawing)):
                    number += 1
                    if rid in d_rels:
                        yield name, number, d_rels[rid][1]
        except ParseError as exc:
            notes.append(f"{name}: charts not read ({exc.reason})")


def _parse_ref(formula: str):
    m = _REF.match(formula.strip().strip("()"))
    if not m:
        return None
    sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
    c0, r0 = _col(m.group(3)), int(m.group(4))
    c1, r1 = (_col(m.group(5)), int(m.group(6))) if m.group(5) else (c0, r0)
    return sheet, min(c0, c1), min(r0, r1), max(c0, c1), max(r0, r1)


def _col(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _resolver(wb) -> Resolver:
    def resolve(formula: str, max_points: int):
        """Points run along the range's longer side; a point's values across the other side
        (multi-level categories). The range is clipped to the sheet's used area first."""
        ref = _parse_ref(formula)
        if ref is None or ref[0] not in wb.sheetnames:
            return None
        sheet, c0, r0, c1, r1 = ref
        ws = wb[sheet]
        r1, c1 = min(r1, ws.max_row or r0), min(c1, ws.max_column or c0)
        if r1 < r0 or c1 < c0:
            return [], 0
        by_row = (r1 - r0) >= (c1 - c0)
        total = (r1 - r0 + 1) if by_row else (c1 - c0 + 1)
        width = (c1 - c0 + 1) if by_row else (r1 - r0 + 1)
        n = min(total, max(0, max_points), MAX_CELLS // width)
        if n == 0:
            return [], total
        if by_row:
            rows = ws.iter_rows(min_row=r0, max_row=r0 + n - 1, min_col=c0, max_col=c1, values_only=True)
            return [[fmt(v) for v in row] for row in rows], total
        cols = ws.iter_cols(min_row=r0, max_row=r1, min_col=c0, max_col=c0 + n - 1, values_only=True) \
            if hasattr(ws, "iter_cols") else zip(*ws.iter_rows(min_row=r0, max_row=r1, min_col=c0,
                                                                max_col=c0 + n - 1, values_only=True))
        return [[fmt(v) for v in col] for col in cols], total
    return resolve


def _range_on(sheet: str, refs: list[str]) -> str | None:
    """The bounding range of the chart's cells when all of them are on ``sheet``."""
    parsed = [_parse_ref(f) for f in refs]
    if not parsed or any(p is None or p[0] != sheet for p in parsed):
        return None
    c0, r0 = min(p[1] for p in parsed), min(p[2] for p in parsed)
    c1, r1 = max(p[3] for p in parsed), max(p[4] for p in parsed)
    return f"{col_letter(c0)}{r0}:{col_letter(c1)}{r1}"

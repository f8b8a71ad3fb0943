"""Converts the company's abbreviation spreadsheet into glossary YAML.

The sheet has the columns 序号 / 缩略语 / 英文全称 / 中文解释 (English headers are accepted
too). The header row need not be the first: title rows above it, blank rows and repeated
header rows inside are skipped, and every skipped row is reported with its number and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from kb_agent.errors import GlossaryError
from kb_agent.glossary.model import GlossaryEntry, entry_identity

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "term": ("缩略语", "缩写", "简称", "abbreviation", "acronym", "term"),
    "english": ("英文全称", "英文", "english", "full name", "english full name"),
    "chinese": ("中文解释", "中文", "中文含义", "解释", "chinese", "meaning"),
    "scope": ("部门", "范围", "适用范围", "scope", "department"),
    "description": ("说明", "备注", "description", "notes", "note"),
}
_SCAN_ROWS = 30


@dataclass
class SkippedRow:
    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@dataclass
class ImportResult:
    source: str
    sheet: str
    header_row: int
    entries: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # the sheet row of each entry

    def drop_known(self, known: Iterable[GlossaryEntry]) -> None:
        """Skip rows that repeat an entry the glossary already has (same term, meaning and scope,
        compared as lookups compare them), saying where it is: an import adds, it does not copy."""
        where = {entry_identity(e.term, e.english, e.chinese, e.scope): f"{e.source_file}:{e.line}" for e in known}
        kept, rows = [], []
        for entry, row in zip(self.entries, self.rows):
            place = where.get(entry_identity(entry["term"], entry.get("english", ""), entry.get("chinese", ""),
                                             entry.get("scope", "")))
            if place:
                self.skipped.append(SkippedRow(row, f"'{entry['term']}' is already in the glossary ({place})"))
            else:
                kept.append(entry)
                rows.append(row)
        self.entries, self.rows = kept, rows
        self.skipped.sort(key=lambda s: s.row)

    def to_yaml(self) -> str:
        header = f"# Imported from {self.source} (sheet {self.sheet!r}) by `kb-agent glossary import`.\n"
        return header + yaml.safe_dump({"entries": self.entries}, allow_unicode=True, sort_keys=False)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "sheet": self.sheet, "header_row": self.header_row,
                "imported": len(self.entries),
                "skipped": [{"row": s.row, "reason": s.reason} for s in self.skipped]}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def _header_map(row: tuple[Any, ...]) -> dict[str, int]:
    found: dict[str, int] = {}
    for idx, value in enumerate(row):
        text = _cell(value).casefold()
        for name, aliases in HEADER_ALIASES.items():
            if name not in found and text in aliases:
                found[name] = idx
    return found


def import_rows(rows: list[tuple[Any, ...]], source: str, sheet: str) -> ImportResult:
    """Pure conversion of a sheet's rows (row 1 first) into glossary entries."""
    header_idx, columns = None, {}
    for i, row in enumerate(rows[:_SCAN_ROWS]):
        columns = _header_map(row)
        if "term" in columns and ("english" in columns or "chinese" in columns):
            header_idx = i
            break
    if header_idx is None:
        raise GlossaryError(
            f"{source} (sheet {sheet!r}): no header row with 缩略语 and 英文全称/中文解释 in the first {_SCAN_ROWS} rows",
            hint="The abbreviation sheet needs the columns 序号 / 缩略语 / 英文全称 / 中文解释.")
    result = ImportResult(source, sheet, header_idx + 1)
    for n in range(header_idx):
        if any(_cell(v) for v in rows[n]):
            result.skipped.append(SkippedRow(n + 1, "title row above the header"))
    seen: set[tuple[str, str, str]] = set()
    for i in range(header_idx + 1, len(rows)):
        row, number = rows[i], i + 1
        values = {name: _cell(row[idx]) if idx < len(row) else "" for name, idx in columns.items()}
        if not any(_cell(v) for v in row):
            result.skipped.append(SkippedRow(number, "blank row"))
            continue
        if _header_map(row).keys() >= {"term"}:
            result.skipped.append(SkippedRow(number, "repeated header row"))
            continue
        term = values.get("term", "")
        if not term:
            result.skipped.append(SkippedRow(number, "no abbreviation (缩略语 is empty)"))
            continue
        if not values.get("english") and not values.get("chinese"):
            result.skipped.append(SkippedRow(number, f"'{term}' has neither 英文全称 nor 中文解释"))
            continue
        key = (term.casefold(), values.get("english", "").casefold(), values.get("chinese", ""))
        if key in seen:
            result.skipped.append(SkippedRow(number, f"duplicate of an earlier row for '{term}'"))
            continue
        seen.add(key)
        entry = {"term": term}
        for name in ("english", "chinese", "scope", "description"):
            if values.get(name):
                entry[name] = values[name]
        result.entries.append(entry)
        result.rows.append(number)
    return result


def import_spreadsheet(path: Path, sheet: str | None = None) -> ImportResult:
    """Read an .xlsx/.xlsm (openpyxl) or legacy .xls (xlrd) abbreviation sheet."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            import openpyxl

            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                ws = wb[sheet] if sheet else wb.worksheets[0]
                rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
                name = ws.title
            finally:
                wb.close()
        elif suffix == ".xls":
            import xlrd

            book = xlrd.open_workbook(str(path))
            ws = book.sheet_by_name(sheet) if sheet else book.sheet_by_index(0)
            rows = [tuple(ws.row_values(i)) for i in range(ws.nrows)]
            name = ws.name
        else:
            raise GlossaryError(f"{path}: unsupported file type '{suffix}' (use .xlsx or .xls)")
    except GlossaryError:
        raise
    except KeyError as exc:
        raise GlossaryError(f"{path}: no sheet named {sheet!r}") from exc
    except Exception as exc:  # corrupt or not a spreadsheet: one clear line
        raise GlossaryError(f"{path}: cannot read spreadsheet ({type(exc).__name__}: {exc})") from exc
    return import_rows(rows, path.name, name)

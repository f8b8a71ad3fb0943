"""The ingestion hook that loads every ingested spreadsheet into the table store.

Implements :class:`kb_agent.ingest.hooks.IngestHook`. Files under excluded folders are not
loaded (and any earlier tables of theirs are removed). Pivot sheets are loaded as tables marked
as pivots (pivot.py), and the report says so; sheets that are not tables (notes, charts) are
reported in ``report`` and left to the text index.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Mapping

from kb_agent.facts.tables.db import TableStore
from kb_agent.facts.tables.read import SUFFIXES, read_sheets
from kb_agent.facts.tables.sheet_table import detect_table

log = logging.getLogger(__name__)


def is_excluded(source: str, exclude_folders: list[str]) -> bool:
    parts = source.strip("/").split("/")
    for folder in exclude_folders:
        want = [p for p in folder.strip("/").split("/") if p]
        if want and parts[:len(want)] == want:
            return True
    return False


class SpreadsheetHook:
    name = "tables"

    def __init__(self, store: TableStore, row_tokens: Callable[[str], list[str]],
                 exclude_folders: list[str] | None = None, max_rows_per_sheet: int = 100_000):
        self.store = store
        self.row_tokens = row_tokens
        self.exclude_folders = list(exclude_folders or [])
        self.max_rows = max_rows_per_sheet
        self.report: dict[str, list[str]] = {}  # source -> what happened, per sheet

    def on_file(self, source: str, path: Path, metadata: Mapping[str, Any]) -> None:
        if Path(source).suffix.lower() not in SUFFIXES:
            return
        if is_excluded(source, self.exclude_folders):
            self.store.remove_source(source)
            self.report[source] = ["excluded folder: not loaded as a table"]
            return
        notes: list[str] = []
        tables = []
        for sheet in read_sheets(Path(path), self.max_rows):  # FactError -> the pipeline reports it
            table, reason = detect_table(sheet)
            if table is None:
                notes.append(f"sheet {sheet.name!r}: {reason}")
                continue
            tables.append(table)
            kind = "pivot table loaded as a table (its rendered cells; marked pivot): " if table.pivot else ""
            notes.append(f"sheet {sheet.name!r}: {kind}{len(table.rows)} rows, {len(table.columns)} columns, "
                         f"header on row {'+'.join(map(str, table.header_rows))}")
            notes.extend(f"sheet {sheet.name!r}: {n}" for n in table.notes)
        self.store.replace_source(source, tables, metadata.get("access_groups", ("everyone",)),
                                  str(metadata.get("content_hash") or ""), notes, self.row_tokens)
        self.report[source] = notes
        log.info("tables: %s -> %d table(s)", source, len(tables))

    def on_remove(self, source: str) -> None:
        if Path(source).suffix.lower() in SUFFIXES:
            self.store.remove_source(source)
            self.report.pop(source, None)

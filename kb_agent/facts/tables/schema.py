"""The loaded tables' schema types, shared by the store (db.py), the filters, the aggregates
and the question parser: a table's metadata and columns, a matched row with its cells, and
column resolution by name. Kept apart from the store so that those modules do not import the
store (and it them) in a circle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kb_agent.errors import FactError
from kb_agent.facts.tables.pivot import caption_field
from kb_agent.text import normalise_key


@dataclass(frozen=True)
class ColumnInfo:
    pos: int
    letter: str
    name: str
    type: str


@dataclass(frozen=True)
class TableInfo:
    id: int
    name: str
    source: str
    sheet: str
    n_rows: int
    header_rows: str
    columns: tuple[ColumnInfo, ...]
    access_groups: tuple[str, ...]
    pivot: bool = False  # the rendered cells of a pivot table: its values are aggregates already

    @property
    def title(self) -> str:
        """The name, marked '(pivot)' for a pivot table, for answers and descriptions."""
        return f"{self.name} (pivot)" if self.pivot else self.name

    def describe(self, max_columns: int = 25) -> str:
        cols = ", ".join(f"{c.name} ({c.type})" for c in self.columns[:max_columns])
        if len(self.columns) > max_columns:
            cols += f", … ({len(self.columns) - max_columns} more columns)"
        return f"{self.title} [{self.n_rows} rows]: {cols}"

    def cite(self, ref: str) -> str:
        """'offices.xlsx!Offices!C3' for the cell(s) ``ref`` of this table's sheet."""
        return f"{self.source.rsplit('/', 1)[-1]}!{self.sheet}!{ref}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "sheet": self.sheet, "rows": self.n_rows,
                "pivot": self.pivot, "columns": [{"name": c.name, "type": c.type, "letter": c.letter} for c in self.columns]}


@dataclass(frozen=True)
class Cell:
    column: str
    text: str
    ref: str  # A1-style, e.g. "C14"


@dataclass(frozen=True)
class RowHit:
    table: TableInfo
    row_num: int
    cells: tuple[Cell, ...]
    score: float = 0.0

    @property
    def range_ref(self) -> str:
        return f"{self.cells[0].ref}:{self.cells[-1].ref}" if self.cells else f"A{self.row_num}"

    def cite(self, cell: Cell | None = None) -> str:
        """'tables/offices.xlsx!Offices!C3' (a cell) or '...!A3:F3' (the row)."""
        return self.table.cite(cell.ref if cell else self.range_ref)

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table.name, "row": self.row_num, "citation": self.cite(),
                "cells": [{"column": c.column, "value": c.text, "cell": c.ref, "citation": self.cite(c)}
                          for c in self.cells]}


@dataclass
class TableResult:
    table: TableInfo
    rows: list[RowHit] = field(default_factory=list)
    total: int = 0

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


def resolve_column(table: TableInfo, name: str) -> ColumnInfo:
    wanted = normalise_key(str(name))
    for match in (lambda c: normalise_key(c.name) == wanted,
                  lambda c: wanted and any(normalise_key(p) == wanted for p in re.split(r"\s+/\s+|\s+", c.name)),
                  lambda c: c.letter.casefold() == str(name).strip().casefold(),
                  # a pivot's value column by its field: "金额" for "求和项:金额" (pivot.py)
                  lambda c: any(normalise_key(caption_field(p) or "") == wanted for p in re.split(r"\s+/\s+", c.name))):
        found = [c for c in table.columns if match(c)]
        if len(found) == 1:
            return found[0]
    raise FactError(f"unknown column '{name}' in table '{table.name}'. Columns: "
                    + ", ".join(c.name for c in table.columns))

"""Aggregates over a table: count, count_distinct, sum, avg, min, max of one column, optionally
grouped by one or two columns, ordered and limited, after the ordinary filters (filters.py).

Accepted shape (the tool's ``aggregate`` argument)::

    {"function": "sum", "column": "名额", "group_by": ["城市"], "order_by": "value", "order": "desc", "limit": 5}

or just ``"count"`` (rows). ``order_by``: ``value`` (the aggregate, also its function name),
``rows`` (rows used per group) or a ``group_by`` column; the default order is descending for
the aggregate and rows, ascending for a column. Identifiers resolve against the table's own
metadata (db.resolve_column, as for filters); every value is a bound parameter. A cell with no
value in the aggregated column (empty, ``NA``-like, or not a number/date in a typed column) is
left out and counted, never read as 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kb_agent.errors import FactError
from kb_agent.facts.tables.detect import NA_TEXTS, display
from kb_agent.facts.tables.filters import Filter
from kb_agent.facts.tables.schema import ColumnInfo, TableInfo, resolve_column


FUNCTIONS = ("count", "count_distinct", "sum", "avg", "min", "max")
_ALIASES = {"distinct": "count_distinct", "count distinct": "count_distinct", "countdistinct": "count_distinct",
            "nunique": "count_distinct", "mean": "avg", "average": "avg", "total": "sum"}
_NUMERIC = ("sum", "avg")
_SQL = {"count": "count(x)", "count_distinct": "count(DISTINCT x)", "sum": "sum(x)", "avg": "avg(x)",
        "min": "min(x)", "max": "max(x)"}
_KEYS = ("function", "column", "group_by", "order_by", "order", "limit")
MAX_GROUP_BY = 2
MAX_RANGES = 20         # more runs of rows than this: cite the bounding range
MAX_MISSING_CELLS = 10  # cells with no value listed by reference


@dataclass(frozen=True)
class Aggregate:
    function: str
    column: str | None = None
    group_by: tuple[str, ...] = ()
    order_by: str | None = None
    order: str | None = None  # asc | desc | None (the default for order_by)
    limit: int | None = None


def parse_aggregate(raw: Any) -> Aggregate | None:
    """Normalise the model's ``aggregate`` argument; raises FactError naming what is wrong."""
    if raw in (None, "", {}):
        return None
    if isinstance(raw, str):
        raw = {"function": raw}
    if not isinstance(raw, dict):
        raise FactError("aggregate must be an object {function, column, group_by, order_by, order, limit}")
    raw = {("function" if k in ("func", "fn", "op") else k): v for k, v in raw.items()}
    unknown = [k for k in raw if k not in _KEYS]
    if unknown:
        raise FactError(f"unknown aggregate key(s) {', '.join(map(repr, unknown))}; use {', '.join(_KEYS)}")
    func = str(raw.get("function") or "").strip().lower().replace("-", "_")
    func = _ALIASES.get(func, func)
    if func not in FUNCTIONS:
        raise FactError(f"unknown aggregate function '{raw.get('function')}'; use one of {', '.join(FUNCTIONS)}")
    column = _name(raw.get("column"), "aggregate column")
    if column is None and func != "count":
        raise FactError(f"aggregate '{func}' needs a column")
    group_by = raw.get("group_by") or ()
    group_by = (group_by,) if isinstance(group_by, str) else group_by
    if not isinstance(group_by, (list, tuple)):
        raise FactError("group_by must be a column name or a list of one or two column names")
    group_by = tuple(_name(g, "group_by column") for g in group_by)
    if len(group_by) > MAX_GROUP_BY or None in group_by:
        raise FactError(f"group_by takes one or {MAX_GROUP_BY} column names")
    order = raw.get("order")
    if order is not None:
        order = str(order).strip().lower()
        order = {"ascending": "asc", "descending": "desc"}.get(order, order)
        if order not in ("asc", "desc"):
            raise FactError(f"order must be 'asc' or 'desc', not '{raw.get('order')}'")
    return Aggregate(func, column, group_by, _name(raw.get("order_by"), "order_by"), order,
                     _limit(raw.get("limit")))


def _name(value: Any, what: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise FactError(f"{what} must be a column name (a string), not {value!r}")
    return value.strip()


def _limit(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())):
        raise FactError(f"limit must be a positive whole number, not {value!r}")
    if int(value) < 1:
        raise FactError(f"limit must be a positive whole number, not {value!r}")
    return int(value)


@dataclass(frozen=True)
class Plan:
    """An aggregate resolved against one table: columns from its metadata only."""
    spec: Aggregate
    column: "ColumnInfo | None"
    group_by: tuple["ColumnInfo", ...]
    order_key: str            # value | rows | k<i>
    descending: bool


def plan(table: "TableInfo", spec: Aggregate) -> Plan:

    column = resolve_column(table, spec.column) if spec.column else None
    if spec.function in _NUMERIC and column.type != "number":
        raise FactError(f"'{spec.function}' needs a number column; '{column.name}' holds {column.type}. "
                        f"Number columns: {', '.join(c.name for c in table.columns if c.type == 'number') or '(none)'}")
    group_by = tuple(resolve_column(table, g) for g in spec.group_by)
    if len(set(group_by)) < len(group_by):
        raise FactError("group_by names the same column twice")
    wanted = (spec.order_by or "").strip().lower()
    if not wanted:
        key = "k0" if group_by else "value"
    elif wanted in ("value", spec.function, "aggregate", "result"):
        key = "value"
    elif wanted in ("rows", "count", "row_count", "n"):
        key = "rows"
    else:
        col = resolve_column(table, spec.order_by)
        if col not in group_by:
            raise FactError(f"order_by '{spec.order_by}' must be 'value' (the {spec.function}), 'rows' or a "
                            f"group_by column ({', '.join(c.name for c in group_by) or 'none given'})")
        key = f"k{group_by.index(col)}"
    descending = spec.order == "desc" if spec.order else key in ("value", "rows")
    return Plan(spec, column, group_by, key, descending)


def build_sql(table: "TableInfo", p: Plan, where: str, params: list[Any], grouped: bool,
              limit: int | None) -> tuple[str, list[Any]]:
    """One SELECT over the filtered rows: per group (or once) the keys, the aggregate, rows used,
    rows with no value, and the row numbers of both. Identifiers come from ``p`` only."""
    if p.column is not None:
        v, d = f"v{p.column.pos}", f"d{p.column.pos}"
        marks = ", ".join("?" for _ in NA_TEXTS)
        miss = f"({v} IS NULL OR lower({d}) IN ({marks}))"
        inner = f"CASE WHEN {miss} THEN NULL ELSE {v} END AS x, CASE WHEN {miss} THEN 1 ELSE 0 END AS miss"
        inner_params = [*NA_TEXTS, *NA_TEXTS]
    else:
        inner, inner_params = "1 AS x, 0 AS miss", []
    keys = [f"v{c.pos} AS k{i}" for i, c in enumerate(p.group_by)] if grouped else []
    names = [f"k{i}" for i in range(len(keys))]
    sql = (f"SELECT {', '.join([*names, ''])}{_SQL[p.spec.function]}, count(x), coalesce(sum(miss), 0), "
           f"group_concat(CASE WHEN x IS NOT NULL THEN row_num END), group_concat(CASE WHEN miss THEN row_num END) "
           f"FROM (SELECT row_num, {', '.join([*keys, inner])} FROM t{table.id}{where})")
    out = [*inner_params, *params]
    if names:
        sql += f" GROUP BY {', '.join(names)}"
        direction = "DESC" if p.descending else "ASC"
        first = {"value": f"{_SQL[p.spec.function]}", "rows": "count(x)"}.get(p.order_key, p.order_key)
        sql += f" ORDER BY {first} {direction}, {', '.join(names)}"
        if limit is not None:
            sql += " LIMIT ?"
            out.append(limit)
    return sql, out


def count_groups_sql(table: "TableInfo", p: Plan, where: str) -> str:
    keys = ", ".join(f"v{c.pos}" for c in p.group_by)
    return f"SELECT count(*) FROM (SELECT 1 FROM t{table.id}{where} GROUP BY {keys})"


@dataclass(frozen=True)
class AggregateGroup:
    keys: tuple[Any, ...]          # group values (typed), () for the whole result
    value: Any                     # None when no row had a value
    rows: int                      # rows used (with a value in the aggregated column)
    missing: int                   # rows with no value in the aggregated column
    row_nums: tuple[int, ...] = ()
    missing_rows: tuple[int, ...] = ()


def group_from_row(row: tuple, n_keys: int) -> AggregateGroup:
    keys, (value, used, missing, nums, miss_nums) = tuple(row[:n_keys]), row[n_keys:]
    return AggregateGroup(keys, value, int(used or 0), int(missing or 0), _nums(nums), _nums(miss_nums))


def _nums(text: str | None) -> tuple[int, ...]:
    return tuple(sorted(int(n) for n in str(text).split(","))) if text else ()


def runs(row_nums: tuple[int, ...]) -> list[tuple[int, int]]:
    """Consecutive row numbers as (first, last) runs: 6,7,9 -> (6,7), (9,9)."""
    out: list[tuple[int, int]] = []
    for n in sorted(row_nums):
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def cell_ranges(row_nums: tuple[int, ...], first: str, last: str,
                max_ranges: int = MAX_RANGES) -> tuple[list[str], bool]:
    """A1 ranges covering columns ``first``..``last`` of ``row_nums``; (ranges, complete). Past
    ``max_ranges`` runs the bounding range is given instead (complete=False: apply the filters)."""
    spans = runs(row_nums)
    if not spans:
        return [], True
    complete = len(spans) <= max_ranges
    if not complete:
        spans = [(spans[0][0], spans[-1][1])]
    return [f"{first}{a}" if first == last and a == b else f"{first}{a}:{last}{b}" for a, b in spans], complete


def format_value(value: Any) -> str:
    if value is None:
        return "no value"
    return display(float(value)) if isinstance(value, (int, float)) else str(value)


@dataclass
class AggregateResult:
    table: "TableInfo"
    plan: Plan
    filters: list[Filter] = field(default_factory=list)
    total: AggregateGroup = field(default_factory=lambda: AggregateGroup((), None, 0, 0))
    groups: list[AggregateGroup] = field(default_factory=list)
    n_groups: int = 0
    _ranges: dict = field(default_factory=dict, repr=False, compare=False)  # id(group) -> (group, ranges)

    @property
    def grouped(self) -> bool:
        return bool(self.plan.group_by)

    @property
    def truncated(self) -> bool:
        return self.n_groups > len(self.groups)

    @property
    def label(self) -> str:
        """'sum of Seats', 'count of rows'."""
        col = self.plan.column
        return f"{self.plan.spec.function} of {col.name if col else 'rows'}"

    def _span(self) -> tuple[str, str]:
        cols = [c for c in (self.plan.column, *self.plan.group_by) if c is not None] or list(self.table.columns)
        cols.sort(key=lambda c: c.pos)
        return cols[0].letter, cols[-1].letter

    def ranges(self, group: AggregateGroup) -> tuple[list[str], bool]:
        # Kept per group: the text, payload and citations each ask, and on a 100k-row sheet
        # walking the row numbers again costs as much as the query (bench/table_aggregate_bench.py).
        cached = self._ranges.get(id(group))
        if cached is None or cached[0] is not group:
            cached = self._ranges[id(group)] = (group, cell_ranges(group.row_nums, *self._span()))
        ranges, complete = cached[1]
        return list(ranges), complete

    def bounding(self, group: AggregateGroup) -> str:
        first, last = self._span()
        if not group.row_nums:
            return ""
        return f"{first}{min(group.row_nums)}:{last}{max(group.row_nums)}"

    def missing_cells(self, group: AggregateGroup) -> list[str]:
        col = self.plan.column
        return [f"{col.letter}{n}" for n in group.missing_rows[:MAX_MISSING_CELLS]] if col else []

    def cite(self, group: AggregateGroup) -> str:
        """'calendar.xlsx!Sessions!E6:E7,E9' (the cells the value was computed from)."""
        ranges, _ = self.ranges(group)
        return self.table.cite(",".join(ranges)) if ranges else ""

    def keys_dict(self, group: AggregateGroup) -> dict[str, Any]:
        return {c.name: k for c, k in zip(self.plan.group_by, group.keys)}

    def group_dict(self, group: AggregateGroup) -> dict[str, Any]:
        ranges, complete = self.ranges(group)
        return {"value": group.value, "display": format_value(group.value), "rows_used": group.rows,
                "missing": group.missing, "missing_cells": self.missing_cells(group), "ranges": ranges,
                "ranges_complete": complete, "citation": self.cite(group)}

    def to_dict(self) -> dict[str, Any]:
        p = self.plan
        order_by = p.group_by[int(p.order_key[1:])].name if p.order_key.startswith("k") else p.order_key
        return {"table": self.table.name, "source": self.table.source, "sheet": self.table.sheet,
                "pivot": self.table.pivot, "function": p.spec.function, "column": p.column.name if p.column else None,
                "column_type": p.column.type if p.column else None, "group_by": [c.name for c in p.group_by],
                "order_by": order_by if self.grouped else None,
                "order": ("desc" if p.descending else "asc") if self.grouped else None,
                "limit": p.spec.limit, "filters": [f.to_dict() for f in self.filters],
                **self.group_dict(self.total), "total_groups": self.n_groups, "truncated": self.truncated,
                "groups": [{"group": self.keys_dict(g), **self.group_dict(g)} for g in self.groups]}

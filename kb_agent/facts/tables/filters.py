"""Table filters from tool arguments, turned into a WHERE clause with bound parameters only.

Accepted shapes (the model may use either)::

    [{"column": "城市", "op": "=", "value": "上海"}, {"column": "日期", "op": "between", "value": ["2026-01-01", "2026-03-31"]}]
    {"城市": "上海", "座位": {">=": 20}}

Operators: = != < <= > >= contains between (aliases: eq ne lt le gt ge like in-range).
Column names resolve against the table's own metadata, so SQL identifiers never come from
the caller; values are converted to the column's type or rejected with a clear message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kb_agent.errors import FactError
from kb_agent.facts.tables.detect import as_date, as_number
from kb_agent.facts.tables.schema import TableInfo, resolve_column


OPS = {"=": "=", "==": "=", "eq": "=", "is": "=", "!=": "!=", "<>": "!=", "ne": "!=", "<": "<", "lt": "<",
       "<=": "<=", "le": "<=", "lte": "<=", ">": ">", "gt": ">", ">=": ">=", "ge": ">=", "gte": ">=",
       "contains": "contains", "like": "contains", "包含": "contains", "between": "between", "range": "between"}
_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
MAX_FILTERS = 10


@dataclass(frozen=True)
class Filter:
    column: str
    op: str
    value: Any

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "op": self.op, "value": self.value}


def parse_filters(raw: Any) -> list[Filter]:
    """Normalise the model's ``filters`` argument; raises FactError naming what is wrong."""
    if raw in (None, "", [], {}):
        return []
    items: list[Filter] = []
    if isinstance(raw, dict):
        for col, spec in raw.items():
            if isinstance(spec, dict) and spec and all(str(k).strip().lower() in OPS for k in spec):
                items.extend(_make(col, op, v) for op, v in spec.items())
            elif isinstance(spec, dict) and ("min" in spec or "max" in spec):
                if spec.get("min") is not None:
                    items.append(_make(col, ">=", spec["min"]))
                if spec.get("max") is not None:
                    items.append(_make(col, "<=", spec["max"]))
            else:
                items.append(_make(col, "=", spec))
    elif isinstance(raw, list):
        for i, f in enumerate(raw):
            if not isinstance(f, dict) or "column" not in f:
                raise FactError(f"filter #{i + 1} must be an object with 'column', 'op' and 'value'")
            items.append(_make(f["column"], f.get("op", "="), f.get("value")))
    else:
        raise FactError("filters must be a list of {column, op, value} objects or a {column: value} object")
    if len(items) > MAX_FILTERS:
        raise FactError(f"at most {MAX_FILTERS} filters are allowed")
    return items


def _make(column: Any, op: Any, value: Any) -> Filter:
    key = str(op).strip().lower()
    if key not in OPS:
        raise FactError(f"unknown filter operator '{op}'; use one of = != < <= > >= contains between")
    if not isinstance(column, str) or not column.strip():
        raise FactError("a filter needs a column name")
    if isinstance(value, (dict,)):
        raise FactError(f"filter value for '{column}' must be a string, number or [low, high] list")
    return Filter(column.strip(), OPS[key], value)


def _convert(value: Any, kind: str, column: str) -> Any:
    if isinstance(value, (list, tuple)):
        raise FactError(f"filter value for '{column}' must be a single value (use op 'between' for ranges)")
    if value is None:
        return None
    if kind == "number":
        number = as_number(value if not isinstance(value, str) else value.strip())
        if number is None:
            raise FactError(f"column '{column}' holds numbers; '{value}' is not a number")
        return number
    if kind == "date":
        iso = as_date(value) if not isinstance(value, (int, float)) else None
        if iso is None:
            raise FactError(f"column '{column}' holds dates; give '{value}' as YYYY-MM-DD (or YYYY-MM)")
        return iso
    return str(value).strip()


def build_where(table: "TableInfo", filters: list[Filter]) -> tuple[str, list[Any]]:
    """`` WHERE ...`` (or '') and its parameters. Identifiers come from ``table`` only."""

    clauses, params = [], []
    for f in filters:
        col = resolve_column(table, f.column)
        v, d = f"v{col.pos}", f"d{col.pos}"
        if f.op == "contains":
            clauses.append(f"instr(lower({d}), lower(?)) > 0")
            params.append(str(f.value).strip())
            continue
        if f.op == "between":
            if not isinstance(f.value, (list, tuple)) or len(f.value) != 2:
                raise FactError(f"'between' on '{f.column}' needs a [low, high] list")
            lo, hi = (_bound(x, col.type, col.name, end) for x, end in zip(f.value, (False, True)))
            clauses.append(f"{v} >= ? AND {v} <= ?")
            params.extend([lo, hi])
            continue
        if col.type == "date" and isinstance(f.value, str) and _MONTH.match(f.value.strip()):
            m = _MONTH.match(f.value.strip())
            month = f"{int(m[1]):04d}-{int(m[2]):02d}"
            if f.op in ("=", "!="):
                clauses.append(f"substr({v}, 1, 7) {'=' if f.op == '=' else '!='} ?")
                params.append(month)
                continue
            value = _bound(f.value, col.type, col.name, f.op in ("<=", ">"))
        else:
            value = _convert(f.value, col.type, col.name)
        if value is None:
            clauses.append(f"({d} IS NULL OR {d} = '')" if f.op == "=" else f"({d} IS NOT NULL AND {d} != '')")
        elif col.type == "text" and f.op in ("=", "!="):
            clauses.append(f"lower({v}) {f.op} lower(?)")
            params.append(value)
        else:
            clauses.append(f"{v} {f.op} ?")
            params.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _bound(value: Any, kind: str, column: str, end: bool) -> Any:
    """A range bound; a month 'YYYY-MM' on a date column covers the whole month."""
    if kind == "date" and isinstance(value, str):
        m = _MONTH.match(value.strip())
        if m:
            return f"{int(m[1]):04d}-{int(m[2]):02d}-{'31' if end else '01'}"
    return _convert(value, kind, column)

"""Aggregates over spreadsheet tables (count, count_distinct, sum, avg, min, max; group_by,
order_by, limit, filters) through the real ingest hook and fact service, with cell citations.

The workbook is generated here with openpyxl from ``DATA``, with the mess real ones have: a
merged title row, a two-row header, numbers stored as text, blanks, NA-like cells, dates as
Excel dates and as text, a blank row and a total row. Every expected value is computed in the
test from ``DATA`` itself, never hard-coded."""

from __future__ import annotations

import json
import re
import sqlite3
import statistics
from datetime import date, datetime

import openpyxl
import pytest

from kb_agent.access import EMPLOYEE, LOCAL_ADMIN
from kb_agent.errors import FactError
from kb_agent.facts.answer import fact_json, fact_output
from kb_agent.tooling import TurnRecorder, load_tool_class
from tests.facts.conftest import load_table

# (date, city, dept, amount as written in the sheet, qty as written)
DATA = [
    (date(2026, 1, 5), "Shanghai", "Sales", 1200, "3"),
    (date(2026, 1, 19), "Shanghai", "Service", "1,050", "2"),
    (date(2026, 2, 2), "Beijing", "Sales", "¥350", "5"),
    (date(2026, 2, 16), "Beijing", "Sales", None, "1"),
    (date(2026, 3, 2), "Shenzhen", "Service", "80.5", "4"),
    (date(2026, 3, 16), "Shanghai", "Sales", "NA", "2"),
    (date(2026, 4, 6), "Beijing", "Service", 640, None),
    (date(2026, 4, 20), "Shenzhen", "Sales", "n/a", "6"),
    (date(2026, 5, 4), "Shanghai", "Service", "2,400", "1"),
    (date(2026, 5, 18), "Beijing", "Sales", 99.5, "3"),
    (date(2026, 6, 1), "Shenzhen", "Service", "-", "2"),
    (date(2026, 6, 15), "Shanghai", "Sales", "1,200", "7"),
    (date(2026, 6, 29), "Guangzhou", "Sales", 500, "2"),
]
COLUMNS = ["Date", "Office / City", "Office / Dept", "Amount (CNY)", "Qty"]
FIRST_ROW = 5       # header on rows 3-4
BLANK_AFTER = 6     # a blank sheet row after the 6th data row


def sheet_rows() -> list[int]:
    """The sheet row of each DATA row (the blank row shifts the later ones)."""
    return [FIRST_ROW + i + (1 if i >= BLANK_AFTER else 0) for i in range(len(DATA))]


def date_cell(d: date, i: int):
    forms = [datetime(d.year, d.month, d.day), f"{d.year}/{d.month:02d}/{d.day:02d}", f"{d.year}年{d.month}月{d.day}日"]
    return forms[i % 3]


def build(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Orders"
    ws["A1"] = "Orders H1 2026 (finance export)"
    ws.merge_cells("A1:E1")
    ws["A3"], ws["B3"], ws["D3"], ws["E3"] = "Date", "Office", "Amount (CNY)", "Qty"
    ws["B4"], ws["C4"] = "City", "Dept"
    ws.merge_cells("B3:C3")
    for col in "ADE":
        ws.merge_cells(f"{col}3:{col}4")
    for i, (row, (d, city, dept, amount, qty)) in enumerate(zip(sheet_rows(), DATA)):
        for c, v in enumerate((date_cell(d, i), city, dept, amount, qty), start=1):
            ws.cell(row, c, v)
    total_row = sheet_rows()[-1] + 1
    ws.cell(total_row, 1, "Total")
    ws.cell(total_row, 4, 99999)
    wb.save(path)
    return path


# -- the test's own reading of DATA ------------------------------------------------------------
def num(v):
    """The number a person reads in the cell, or None (blank, NA, -)."""
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    text = v.replace(",", "").replace("¥", "").strip()
    return float(text) if re.fullmatch(r"\d+(\.\d+)?", text) else None


def records():
    """One dict per DATA row, with its sheet row and typed values."""
    return [{"row": r, "Date": d.isoformat(), "City": city, "Dept": dept, "Amount": num(a), "Qty": num(q)}
            for r, (d, city, dept, a, q) in zip(sheet_rows(), DATA)]


def compute(func, values):
    vals = [v for v in values if v is not None]
    if func == "count":
        return len(vals)
    if func == "count_distinct":
        return len(set(vals))
    if not vals:
        return None
    return {"sum": sum, "avg": statistics.fmean, "min": min, "max": max}[func](vals)


def expanded(ranges: list[str]) -> set[int]:
    """Sheet rows covered by A1 ranges such as ['D5:D6', 'D8']."""
    out = set()
    for r in ranges:
        nums = [int(n) for n in re.findall(r"\d+", r)]
        out |= set(range(nums[0], nums[-1] + 1))
    return out


@pytest.fixture
def orders(kb, tmp_path):
    load_table(kb, build(tmp_path / "orders.xlsx"), "finance/orders.xlsx")
    return kb


def agg(kb, aggregate, filters=None, principal=LOCAL_ADMIN, table="orders"):
    return kb.facts.query("q", principal, table=table, filters=filters, aggregate=aggregate)


def test_table_is_detected_with_typed_columns(orders):
    (table,) = orders.facts.tables.tables(LOCAL_ADMIN)
    assert [c.name for c in table.columns] == COLUMNS
    types = {c.name: c.type for c in table.columns}
    # NA-like cells do not make the number column text.
    assert types["Date"] == "date" and types["Amount (CNY)"] == "number" and types["Qty"] == "number"
    assert table.n_rows == len(DATA)  # the blank and total rows are left out


@pytest.mark.parametrize("func", ["count", "count_distinct", "sum", "avg", "min", "max"])
@pytest.mark.parametrize("column", ["Amount", "Qty", "Date", "City"])
def test_each_aggregate_without_group_by(orders, func, column):
    if func in ("sum", "avg") and column in ("Date", "City"):
        with pytest.raises(FactError, match=rf"'{func}' needs a number column.*Number columns: Amount \(CNY\), Qty"):
            agg(orders, {"function": func, "column": column})
        return
    recs = records()
    r = agg(orders, {"function": func, "column": column})
    assert r.status == "aggregate" and r.found
    a = r.aggregate
    expected = compute(func, [x[column] for x in recs])
    assert a.total.value == pytest.approx(expected)
    used = [x["row"] for x in recs if x[column] is not None]
    missing = [x["row"] for x in recs if x[column] is None]
    assert a.total.rows == len(used) and a.total.missing == len(missing)
    d = fact_json(r)["aggregate"]
    assert expanded(d["ranges"]) >= set(used) and not expanded(d["ranges"]) & set(missing)
    assert d["rows_used"] == len(used) and d["missing"] == len(missing) and d["filters"] == []


def test_blank_and_na_cells_are_counted_and_reported_never_zero(orders):
    recs = records()
    r = agg(orders, {"function": "min", "column": "Amount"})
    amounts = [x["Amount"] for x in recs]
    assert r.aggregate.total.value == min(a for a in amounts if a is not None)  # not 0
    missing = [x["row"] for x in recs if x["Amount"] is None]
    assert missing  # blank, NA, n/a, -
    out = fact_output(r)
    assert f"{len(missing)} row(s) had no value in Amount (CNY): " + ", ".join(f"D{n}" for n in missing) in out.text
    assert r.aggregate.to_dict()["missing_cells"] == [f"D{n}" for n in missing]
    # Only rows with no value at all: reported, not found.
    pairs = {(x["City"], x["Dept"]) for x in recs}
    city, dept = next(p for p in sorted(pairs) if all(x["Amount"] is None for x in recs if (x["City"], x["Dept"]) == p))
    r = agg(orders, {"function": "sum", "column": "Amount"}, {"City": city, "Dept": dept})
    n = sum(1 for x in recs if (x["City"], x["Dept"]) == (city, dept))
    assert not r.found and r.aggregate.total.value is None and r.aggregate.total.missing == n
    assert f"{n} row(s) match these filters but none has a value in 'Amount (CNY)'" in fact_output(r).text


def test_count_without_a_column_counts_rows(orders):
    recs = records()
    r = agg(orders, "count", {"City": "beijing"})  # text equality ignores case, as in filters
    assert r.aggregate.total.value == sum(1 for x in recs if x["City"] == "Beijing")
    assert r.aggregate.total.missing == 0
    assert fact_json(r)["aggregate"]["column"] is None


@pytest.mark.parametrize("func", ["count", "count_distinct", "sum", "avg", "min", "max"])
def test_group_by_one_column_with_filters(orders, func):
    recs = [x for x in records() if "2026-02-01" <= x["Date"] <= "2026-06-30"]
    filters = [{"column": "Date", "op": "between", "value": ["2026-02", "2026-06"]}]
    r = agg(orders, {"function": func, "column": "Amount", "group_by": ["City"]}, filters)
    a = r.aggregate
    keys = sorted({x["City"] for x in recs})
    expected = {k: compute(func, [x["Amount"] for x in recs if x["City"] == k]) for k in keys}
    assert [g.keys for g in a.groups] == [(k,) for k in keys]  # default order: the group column, ascending
    for g in a.groups:
        assert g.value == pytest.approx(expected[g.keys[0]])
        rows = [x for x in recs if x["City"] == g.keys[0]]
        assert g.rows == sum(1 for x in rows if x["Amount"] is not None)
        assert g.missing == sum(1 for x in rows if x["Amount"] is None)
        ranges, _ = a.ranges(g)
        assert expanded(ranges) & {x["row"] for x in records()} == {x["row"] for x in rows if x["Amount"] is not None}
    assert a.n_groups == len(keys) and not a.truncated
    assert a.total.value == pytest.approx(compute(func, [x["Amount"] for x in recs]))
    d = fact_json(r)
    assert d["aggregate"]["filters"] == [{"column": "Date", "op": "between", "value": ["2026-02", "2026-06"]}]
    assert [g["group"] for g in d["aggregate"]["groups"]] == [{"Office / City": k} for k in keys]
    assert len(d["citations"]) == sum(1 for g in a.groups if g.rows) + 1   # the groups, then the overall figure
    assert d["citations"][-1]["text"].startswith("Overall: ") and d["citations"][-1]["locator"]["rows_used"] == a.total.rows
    assert all(c["locator"]["filters"] == d["aggregate"]["filters"] for c in d["citations"])


def test_group_by_two_columns_ordered_by_value_with_limit(orders):
    recs = records()
    groups: dict[tuple, list] = {}
    for x in recs:
        groups.setdefault((x["City"], x["Dept"]), []).append(x["Amount"])
    sums = {k: compute("sum", v) for k, v in groups.items()}
    # Descending by the sum (groups with no value at all last, as SQLite puts NULLs), then the keys.
    order = sorted(sums, key=lambda k: (sums[k] is None, -(sums[k] or 0), k))
    r = agg(orders, {"function": "sum", "column": "Amount", "group_by": ["City", "Dept"],
                     "order_by": "value", "order": "desc", "limit": 3})
    a = r.aggregate
    assert [g.keys for g in a.groups] == order[:3]
    assert [g.value for g in a.groups] == pytest.approx([sums[k] for k in order[:3]])
    assert a.n_groups == len(groups) and a.truncated
    out = fact_output(r)
    assert f"{len(groups)} group(s), showing 3" in out.text
    top = a.groups[0]
    assert f"Office / City = {top.keys[0]}, Office / Dept = {top.keys[1]}: sum of Amount (CNY) = " in out.text
    cite = out.citations[0]
    assert cite.kind == "table" and cite.locator["rows_used"] == top.rows
    assert cite.locator["ref"].startswith("orders.xlsx!Orders!")


def test_order_by_a_column_or_rows(orders):
    recs = records()
    cities = sorted({x["City"] for x in recs}, reverse=True)
    r = agg(orders, {"function": "max", "column": "Date", "group_by": "City", "order_by": "City", "order": "desc"})
    assert [g.keys[0] for g in r.aggregate.groups] == cities
    assert [g.value for g in r.aggregate.groups] == [max(x["Date"] for x in recs if x["City"] == c) for c in cities]
    counts = {c: sum(1 for x in recs if x["City"] == c) for c in cities}
    r = agg(orders, {"function": "count", "group_by": ["City"], "order_by": "rows", "limit": 2})
    expected = sorted(counts, key=lambda c: (-counts[c], c))[:2]
    assert [g.keys[0] for g in r.aggregate.groups] == expected
    assert [g.value for g in r.aggregate.groups] == [counts[c] for c in expected]


def test_numbers_as_text_and_dates_with_filters(orders):
    recs = records()
    r = agg(orders, {"function": "sum", "column": "Qty"},
            [{"column": "Amount", "op": ">=", "value": "1,000"}, {"column": "Date", "op": "<", "value": "2026-06-01"}])
    rows = [x for x in recs if x["Amount"] is not None and x["Amount"] >= 1000 and x["Date"] < "2026-06-01"]
    assert r.aggregate.total.value == pytest.approx(sum(x["Qty"] for x in rows if x["Qty"] is not None))
    r = agg(orders, {"function": "count_distinct", "column": "Date"}, {"Date": "2026-03"})
    assert r.aggregate.total.value == len({x["Date"] for x in recs if x["Date"].startswith("2026-03")})


def test_citations_name_table_sheet_ranges_rows_and_filters(orders):
    recs = [x for x in records() if x["Dept"] == "Sales"]
    r = agg(orders, {"function": "sum", "column": "Amount"}, {"Dept": "Sales"})
    out, d = fact_output(r), fact_json(r)
    (cite,) = out.citations
    used = [x["row"] for x in recs if x["Amount"] is not None]
    assert cite.source == "finance/orders.xlsx" and cite.locator["sheet"] == "Orders"
    assert expanded(cite.locator["ranges"]) & {x["row"] for x in records()} == set(used)
    bounding = f"D{min(used)}:D{max(used)}"
    assert cite.locator["cell_range"] == bounding and cite.locator["label"] == f"Orders!{bounding}"
    assert cite.locator["rows_used"] == len(used)
    assert cite.locator["filters"] == [{"column": "Dept", "op": "=", "value": "Sales"}]
    total = compute("sum", [x["Amount"] for x in recs])
    assert f"= {total:g}" in cite.text and f"{total:g}" in out.text
    assert d["aggregate"]["citation"] == "orders.xlsx!Orders!" + ",".join(cite.locator["ranges"])
    assert d["status"] == "aggregate" and d["found"] and d["aggregate"]["table"] == "finance/orders.xlsx!Orders"
    json.dumps(d)  # plain JSON


@pytest.mark.parametrize("bad, name", [({"function": "sum", "column": "Salary"}, "Salary"),
                                       ({"function": "count", "group_by": ["Region"]}, "Region"),
                                       ({"function": "count", "group_by": ["City"], "order_by": "Year"}, "Year")])
def test_unknown_column_is_a_clear_error_listing_the_columns(orders, bad, name):
    with pytest.raises(FactError, match=rf"unknown column '{name}' in table 'finance/orders.xlsx!Orders'. "
                                        r"Columns: Date, Office / City, Office / Dept, Amount \(CNY\), Qty"):
        agg(orders, bad)


@pytest.mark.parametrize("bad, message", [
    ({"function": "median", "column": "Qty"}, "unknown aggregate function 'median'"),
    ({"function": "sum"}, "'sum' needs a column"),
    ({"function": "count", "group_by": ["City", "Dept", "Date"]}, "group_by takes one or 2"),
    ({"function": "count", "group_by": ["City"], "order_by": "Qty"}, "order_by 'Qty' must be 'value'"),
    ({"function": "count", "limit": 0}, "limit must be a positive"),
    ({"function": "count", "having": 1}, "unknown aggregate key"),
    ({"function": "count", "order": "sideways"}, "order must be 'asc' or 'desc'"),
])
def test_malformed_aggregates_are_rejected(orders, bad, message):
    with pytest.raises(FactError, match=re.escape(message)):
        agg(orders, bad)


HOSTILE_NAMES = ["Amount) FROM t1; DROP TABLE sheets; --", "v3", "d3", "row_num", "*", "1", "count(*)",
                 "Qty\" OR 1=1 --", "t1.v3", "sum(v3)"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_identifiers_are_rejected(orders, name):
    for bad in ({"function": "sum", "column": name}, {"function": "count", "group_by": [name]},
                {"function": "count", "group_by": ["City"], "order_by": name}):
        with pytest.raises(FactError, match="unknown column|must be 'value'"):
            agg(orders, bad)
    db = sqlite3.connect(orders.facts.tables.path)
    assert db.execute("SELECT count(*) FROM sheets").fetchone()[0] == 1
    assert orders.facts.tables.tables(LOCAL_ADMIN)[0].n_rows == len(DATA)


def test_punctuation_in_a_name_only_resolves_to_the_tables_own_column(orders):
    # Names match ignoring case and punctuation (as for filters): "Qty' --" is the column Qty, and
    # the SQL names it by the store's metadata, never by the text given.
    r = agg(orders, {"function": "sum", "column": "Qty' --"})
    assert r.aggregate.plan.column.name == "Qty"
    assert r.aggregate.total.value == pytest.approx(compute("sum", [x["Qty"] for x in records()]))


@pytest.mark.parametrize("value", ["x' OR '1'='1", "1; DROP TABLE sheets; --", "%", "_", "Sales') OR 1=1 --"])
def test_hostile_values_are_just_values(orders, value):
    r = agg(orders, {"function": "count", "group_by": ["City"]}, {"Dept": value})
    assert not r.found and r.aggregate.total.value == 0 and r.aggregate.groups == []
    assert fact_output(r).text.startswith("No rows match these filters")
    r = agg(orders, {"function": "sum", "column": "Amount"}, [{"column": "City", "op": "contains", "value": value}])
    assert r.aggregate.total.value is None and not r.found
    assert agg(orders, "count").aggregate.total.value == len(DATA)  # nothing dropped


def test_access_groups_apply(kb, tmp_path):
    load_table(kb, build(tmp_path / "orders.xlsx"), "finance/orders.xlsx", groups=("finance",))
    with pytest.raises(FactError, match="unknown table"):
        agg(kb, "count", principal=EMPLOYEE)


def test_tool_schema_and_call(orders):
    cls = load_tool_class("fact_query", orders.settings.agent.tools_dir)
    tool = cls({"kb": orders, "principal": LOCAL_ADMIN, "recorder": TurnRecorder()})
    schema = tool.parameters["properties"]["aggregate"]
    assert schema["properties"]["function"]["enum"] == ["count", "count_distinct", "sum", "avg", "min", "max"]
    assert {"column", "group_by", "order_by", "order", "limit"} <= set(schema["properties"])
    recs = records()
    text = tool.call(json.dumps({"question": "上海的总金额？", "table": "orders",
                                 "filters": {"City": "Shanghai"},
                                 "aggregate": {"function": "sum", "column": "Amount"}}, ensure_ascii=False))
    total = compute("sum", [x["Amount"] for x in recs if x["City"] == "Shanghai"])
    assert f"sum of Amount (CNY) = {total:g}" in text and "row(s) had no value" in text
    assert tool.call({"question": "q", "table": "orders", "aggregate": {"function": "sum", "column": "Bonus"}}) \
        .startswith("Error: unknown column 'Bonus'")


def test_many_runs_of_rows_are_cited_by_their_bounding_range():
    from kb_agent.facts.tables.aggregate import MAX_RANGES, cell_ranges

    rows = tuple(range(10, 10 + 4 * (MAX_RANGES + 1), 2))  # every other row: one run each
    ranges, complete = cell_ranges(rows, "D", "D")
    assert not complete and ranges == [f"D{rows[0]}:D{rows[-1]}"]
    few = rows[:3]
    assert cell_ranges(few, "B", "D") == ([f"B{n}:D{n}" for n in few], True)
    assert cell_ranges((5, 6, 7, 9), "D", "D") == (["D5:D7", "D9"], True)

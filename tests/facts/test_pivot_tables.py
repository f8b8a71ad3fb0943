"""Pivot sheets are loaded as tables marked as pivots (issue #15, item 4): the rendered grid,
wide form, grand totals and subtotals left out and reported, every value cited to its exact
cell, the pivot mark in the description, citations and the ingestion report.

Real XLSX files are generated here with openpyxl: pivot-looking layouts in English and Chinese
(the layout path), and one workbook with a real pivot-table part (``ws._pivots`` on reading),
written with openpyxl's own pivot classes."""

from __future__ import annotations

import sqlite3

import openpyxl
import pytest
from openpyxl.pivot.cache import CacheDefinition, CacheField, CacheSource, SharedItems, WorksheetSource
from openpyxl.pivot.table import DataField, Location, PivotField, RowColField, TableDefinition

from kb_agent.access import LOCAL_ADMIN
from kb_agent.facts.answer import fact_output
from kb_agent.facts.tables.db import TableStore
from kb_agent.router import route
from tests.facts.conftest import load_table

# Rendered pivot with a column field: Sum of Amount by Region (rows) and Quarter (columns).
QUARTERS = ["Q1", "Q2"]
REGIONS = {"East": [120, 80], "West": [60, None], "North": [45.5, 30]}


def write_en_pivot(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Pivot"
    ws.append(["Region", "(All)"])   # a page filter above the pivot, a blank row between
    ws.append([])
    ws.append(["Sum of Amount", "Column Labels"])
    ws.append(["Row Labels", *QUARTERS, "Grand Total"])
    for region, vals in REGIONS.items():
        ws.append([region, *vals, sum(v or 0 for v in vals)])
    ws.append(["Grand Total", *(sum(v[i] or 0 for v in REGIONS.values()) for i in range(2)),
               sum(v or 0 for vals in REGIONS.values() for v in vals)])
    wb.save(path)
    return path


def test_english_pivot_layout_is_a_pivot_table_with_exact_cells(kb, tmp_path):
    notes = load_table(kb, write_en_pivot(tmp_path / "sales.xlsx"), "sales/sales.xlsx")
    assert any("'Pivot': pivot table loaded as a table" in n for n in notes)
    assert any("row 8: grand total row (Grand Total) left out" in n for n in notes)
    assert any("column D (Sum of Amount / Grand Total): total column left out" in n for n in notes)
    (table,) = kb.facts.tables.tables(LOCAL_ADMIN)
    assert table.pivot and "(pivot)" in table.describe()
    assert [(c.name, c.type, c.letter) for c in table.columns] == [
        ("Row Labels", "text", "A"), ("Sum of Amount / Q1", "number", "B"), ("Sum of Amount / Q2", "number", "C")]
    assert table.n_rows == len(REGIONS)  # the grand total row is not a row
    r = kb.query_facts("q", table="sales", filters={"Row Labels": "East"}, columns=["Q1"])
    (row,) = r.table.rows
    assert (row.row_num, row.cells[0].text, row.cells[0].ref) == (5, "120", "B5")
    out = fact_output(r)
    assert "(pivot)" in out.text
    assert out.citations[0].locator["pivot"] is True and out.citations[0].locator["label"] == "Pivot!B5 (pivot)"
    assert out.citations[0].locator["ref"] == "sales.xlsx!Pivot!B5"


def test_chinese_pivot_layout(kb, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "透视"
    ws.append(["行标签", "求和项:金额"])
    data = {"华东": 300, "华南": 150, "(空白)": 20}
    for k, v in data.items():
        ws.append([k, v])
    ws.append(["总计", sum(data.values())])
    wb.save(tmp_path / "区域.xlsx")
    notes = load_table(kb, tmp_path / "区域.xlsx")
    assert any("pivot table loaded as a table" in n for n in notes) and any("总计" in n and "left out" in n for n in notes)
    (table,) = kb.facts.tables.tables(LOCAL_ADMIN)
    assert [c.name for c in table.columns] == ["行标签", "求和项:金额"]
    r = kb.query_facts("q", table="透视", aggregate={"function": "sum", "column": "金额"})
    assert r.aggregate.total.value == sum(data.values())   # the 总计 row is not counted twice
    answer, _ = route("华东的金额合计是多少？", kb, LOCAL_ADMIN)
    assert answer.arguments["filters"] == [{"column": "行标签", "op": "=", "value": "华东"}]
    assert answer.output.payload["aggregate"]["value"] == 300
    assert answer.output.payload["aggregate"]["citation"] == "区域.xlsx!透视!B2"   # the exact cell
    assert "(pivot)" in answer.text


def test_tabular_layout_with_subtotals_fills_row_labels_down(kb, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in [("Region", "City", "Sum of Amount"), ("East", "Shanghai", 10), (None, "Hangzhou", 5),
                ("East Total", None, 15), ("West", "Chengdu", 7), ("West Total", None, 7), ("Grand Total", None, 22)]:
        ws.append(row)
    wb.save(tmp_path / "t.xlsx")
    notes = load_table(kb, tmp_path / "t.xlsx")
    assert sum("subtotal row" in n for n in notes) == 2
    (table,) = kb.facts.tables.tables(LOCAL_ADMIN)
    r = kb.query_facts("q", table="t", filters={"Region": "East"})
    assert [(h.row_num, h.cells[1].text) for h in r.table.rows] == [(2, "Shanghai"), (3, "Hangzhou")]


def write_real_pivot(path):
    """A data sheet and a pivot sheet with a real pivot-table part (openpyxl's own classes)."""
    orders = [("East", 100.0), ("East", 140.0), ("West", 90.0), ("North", 60.0), ("North", 80.0)]
    wb = openpyxl.Workbook()
    data = wb.active
    data.title = "Data"
    data.append(["Region", "Order Value"])
    for row in orders:
        data.append(list(row))
    averages = {}
    for region, value in orders:
        averages.setdefault(region, []).append(value)
    averages = {k: sum(v) / len(v) for k, v in averages.items()}
    pv = wb.create_sheet("Summary")
    pv.append(["Row Labels", "Average of Order Value"])
    for region, avg in averages.items():
        pv.append([region, avg])
    pv.append(["Grand Total", sum(v for _, v in orders) / len(orders)])
    cache = CacheDefinition(
        cacheSource=CacheSource(type="worksheet", worksheetSource=WorksheetSource(ref=f"A1:B{len(orders) + 1}",
                                                                                  sheet="Data")),
        cacheFields=[CacheField(name="Region", sharedItems=SharedItems(count=len(averages))),
                     CacheField(name="Order Value", sharedItems=SharedItems())])
    pt = TableDefinition(name="PivotTable1", cacheId=1, dataCaption="Values",
                         location=Location(ref=f"A1:B{len(averages) + 2}", firstHeaderRow=1, firstDataRow=1,
                                           firstDataCol=1),
                         pivotFields=[PivotField(axis="axisRow", showAll=False), PivotField(dataField=True, showAll=False)],
                         rowFields=[RowColField(x=0)],
                         dataFields=[DataField(name="Average of Order Value", fld=1, subtotal="average")])
    pt.cache = cache
    pv.add_pivot(pt)
    wb.save(path)
    return path, averages


def test_real_pivot_part_is_loaded_and_answers_the_offline_question(kb, tmp_path):
    path, averages = write_real_pivot(tmp_path / "orders.xlsx")
    wb = openpyxl.load_workbook(path)
    assert len(wb["Summary"]._pivots) == 1 and not wb["Data"]._pivots   # a real pivot part
    notes = load_table(kb, path, "sales/orders.xlsx")
    assert any("'Summary': pivot table loaded as a table" in n for n in notes)
    tables = {t.sheet: t for t in kb.facts.tables.tables(LOCAL_ADMIN)}
    assert tables["Summary"].pivot and not tables["Data"].pivot
    answer, _ = route("the average order value of the East region in the pivot", kb, LOCAL_ADMIN)
    assert answer.tool == "fact_query" and answer.arguments["table"] == "sales/orders.xlsx!Summary"
    assert answer.arguments["filters"] == [{"column": "Row Labels", "op": "=", "value": "East"}]
    agg = answer.output.payload["aggregate"]
    assert agg["value"] == pytest.approx(averages["East"]) and agg["pivot"] is True
    assert agg["citation"] == "orders.xlsx!Summary!B2" and agg["rows_used"] == 1
    assert answer.output.citations[0].locator["label"].endswith("(pivot)")
    # Without "pivot" the question fits both sheets; the records are preferred, and agree with the pivot.
    answer, _ = route("the average order value of the East region", kb, LOCAL_ADMIN)
    assert answer.arguments["table"] == "sales/orders.xlsx!Data"
    assert answer.arguments["filters"] == [{"column": "Region", "op": "=", "value": "East"}]
    assert answer.output.payload["aggregate"]["value"] == pytest.approx(averages["East"])


def test_pivot_part_without_a_pivot_layout_is_still_skipped():
    from kb_agent.facts.tables.sheet_table import detect_table
    from kb_agent.facts.tables.read import Sheet

    rows = [["City", "Seats"], ["Shanghai", 320], ["Beijing", 85]]
    table, reason = detect_table(Sheet("Summary", [list(r) for r in rows], pivot=True))
    assert table is None and "pivot table sheet" in reason and "indexed as text only" in reason


def test_pivot_flag_persists_and_an_older_store_is_upgraded(kb, tmp_path):
    load_table(kb, write_en_pivot(tmp_path / "sales.xlsx"), "sales/sales.xlsx")
    path = kb.facts.tables.path
    reopened = TableStore(path)
    assert [t.pivot for t in reopened.tables(LOCAL_ADMIN)] == [True]
    reopened.close()
    old = tmp_path / "old.sqlite3"
    db = sqlite3.connect(old)
    db.executescript("""
        CREATE TABLE sources(source TEXT PRIMARY KEY, content_hash TEXT, access_groups TEXT NOT NULL,
                             loaded_at TEXT NOT NULL, notes TEXT NOT NULL DEFAULT '[]');
        CREATE TABLE sheets(id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, sheet TEXT NOT NULL,
                            name TEXT NOT NULL UNIQUE, header_rows TEXT NOT NULL, n_rows INTEGER NOT NULL);
        INSERT INTO sources VALUES ('a.xlsx', '', '["everyone"]', '2026-01-01', '[]');
        INSERT INTO sheets(source, sheet, name, header_rows, n_rows) VALUES ('a.xlsx', 'S', 'a.xlsx!S', '1', 0);
    """)
    db.commit()
    db.close()
    store = TableStore(old)
    assert [(t.name, t.pivot) for t in store.tables(LOCAL_ADMIN)] == [("a.xlsx!S", False)]
    store.close()

"""Spreadsheets into SQLite tables through the real ingest hook, and exact table queries.

Every workbook is generated here with openpyxl (or written as CSV) with the mess real ones
have: merged title rows, two-row headers, blank rows, numbers stored as text, dates typed as
text, total rows, repeated headers, pivot layouts (loaded as pivots)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import openpyxl
import pytest

from kb_agent.access import EMPLOYEE, LOCAL_ADMIN, Principal
from kb_agent.errors import FactError
from kb_agent.facts.answer import fact_output
from tests.facts.conftest import load_table


def messy_workbook(path, seats_as_text=True, extra_row=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sessions"
    ws["A1"] = "Training calendar 2026"
    ws.merge_cells("A1:E1")
    ws["A2"] = "prepared by HR"
    ws["A4"], ws["B4"], ws["C4"], ws["E4"] = "Date", "Course", "Time", "Seats"
    ws["C5"], ws["D5"] = "Start", "End"
    ws.merge_cells("C4:D4")
    for col in "ABE":
        ws.merge_cells(f"{col}4:{col}5")
    rows = [
        (datetime(2026, 1, 7), "ESS basics", "14:00", "16:00", "30"),
        ("2026/01/21", "ESS basics", "14:00", "16:00", "30"),
        None,  # blank row
        ("2026年2月4日", "SL-500 product", "10:00", "12:00", "25"),
        ("Date", "Course", "Time", "Time", "Seats"),  # repeated header (e.g. after a page break)
        (datetime(2026, 3, 11), "GWS admin", "14:00", "17:00", "1,200"),
    ]
    if extra_row:
        rows.append(extra_row)
    rows.append(("Total", None, None, None, "1285"))
    r = 6
    for row in rows:
        if row:
            for c, v in enumerate(row, start=1):
                ws.cell(r, c, v if (seats_as_text or c != 5) else int(str(v).replace(",", "")))
        r += 1
    wb.save(path)
    return path


@pytest.fixture
def calendar(kb, tmp_path):
    path = messy_workbook(tmp_path / "calendar.xlsx")
    notes = load_table(kb, path, "hr/calendar.xlsx")
    return kb, notes


def test_messy_sheet_detected(calendar):
    kb, notes = calendar
    (table,) = kb.facts.tables.tables(LOCAL_ADMIN)
    assert table.name == "hr/calendar.xlsx!Sessions"
    assert [(c.name, c.type, c.letter) for c in table.columns] == [
        ("Date", "date", "A"), ("Course", "text", "B"), ("Time / Start", "text", "C"), ("Time / End", "text", "D"),
        ("Seats", "number", "E")]
    assert table.n_rows == 4 and table.header_rows == "4,5"
    joined = " | ".join(notes)
    assert "row 1: title row" in joined and "row 10: repeated header row" in joined and "total row" in joined


def test_filters_on_typed_columns_with_cell_citations(calendar):
    kb, _ = calendar
    r = kb.query_facts("big sessions", table="calendar", filters=[{"column": "seats", "op": ">=", "value": "100"}])
    assert r.status == "table" and [h.row_num for h in r.table.rows] == [11]
    assert r.table.rows[0].cells[4].text == "1,200"
    r = kb.query_facts("q", table="calendar.xlsx", filters={"Date": {"between": ["2026-01-01", "2026-02-28"]}},
                       columns=["Course", "Date"])
    assert [h.row_num for h in r.table.rows] == [6, 7, 9]
    out = fact_output(r)
    assert "calendar.xlsx!Sessions!B6" in [c.locator["ref"] for c in out.citations]
    assert "Course: ESS basics [B6]" in out.text and "Date: 2026-01-07 [A6]" in out.text
    r = kb.query_facts("q", table="Sessions", filters=[{"column": "Date", "op": "=", "value": "2026-02"}])
    assert [h.row_num for h in r.table.rows] == [9]  # a month on a date column
    r = kb.query_facts("q", table="Sessions", filters=[{"column": "course", "op": "contains", "value": "ess"}])
    assert r.table.total == 2
    r = kb.query_facts("q", table="Sessions", filters={"Course": "ess BASICS"})  # equality ignores case
    assert r.table.total == 2


def test_unknown_table_or_column_gives_a_correctable_message(calendar):
    kb, _ = calendar
    with pytest.raises(FactError, match=r"unknown table 'payroll'.*hr/calendar.xlsx!Sessions"):
        kb.query_facts("q", table="payroll")
    with pytest.raises(FactError, match=r"unknown column 'Room'.*Columns: Date, Course"):
        kb.query_facts("q", table="calendar", filters={"Room": "3"})
    with pytest.raises(FactError, match="holds numbers"):
        kb.query_facts("q", table="calendar", filters={"Seats": {">": "many"}})
    with pytest.raises(FactError, match="unknown filter operator"):
        kb.query_facts("q", table="calendar", filters=[{"column": "Seats", "op": "LIKE'--", "value": 1}])


@pytest.mark.parametrize("value", [
    "x' OR '1'='1", "1; DROP TABLE sheets; --", "%", "_", '" OR 1=1 --', "ESS basics') OR 1=1 --", "\x00"])
def test_hostile_filter_values_are_just_values(calendar, value):
    kb, _ = calendar
    r = kb.query_facts("q", table="calendar", filters={"Course": value})
    assert r.table.total == 0 and not r.found
    assert fact_output(r).text.startswith("No rows in table 'hr/calendar.xlsx!Sessions' match")
    r = kb.query_facts("q", table="calendar", filters=[{"column": "Course", "op": "contains", "value": value}])
    assert r.table.total == 0
    assert kb.facts.tables.tables(LOCAL_ADMIN)[0].n_rows == 4  # nothing dropped


def test_hostile_column_and_table_names_are_rejected(calendar):
    kb, _ = calendar
    with pytest.raises(FactError, match="unknown column"):
        kb.query_facts("q", table="calendar", filters={"Seats) OR 1=1 --": "1"})
    with pytest.raises(FactError, match="unknown column"):
        kb.query_facts("q", table="calendar", columns=["d0 FROM t1; DROP TABLE sheets; --"])
    with pytest.raises(FactError, match="unknown table"):
        kb.query_facts("q", table="t1; DROP TABLE sheets")
    db = sqlite3.connect(kb.facts.tables.path)
    assert db.execute("SELECT count(*) FROM sheets").fetchone()[0] == 1


def test_results_are_capped(make_kb, tmp_path):
    kb = make_kb(max_result_rows=2)
    load_table(kb, messy_workbook(tmp_path / "c.xlsx"))
    r = kb.query_facts("all", table="c.xlsx", filters={"Seats": {">": 0}})
    assert r.table.total == 4 and len(r.table.rows) == 2 and r.table.truncated
    assert "showing the first 2" in fact_output(r).text


def test_reingest_replaces_atomically_and_remove_drops(kb, tmp_path):
    path = messy_workbook(tmp_path / "c.xlsx")
    load_table(kb, path, "c.xlsx")
    messy_workbook(path, extra_row=(datetime(2026, 4, 1), "New course", "09:00", "10:00", "12"))
    load_table(kb, path, "c.xlsx")
    (table,) = kb.facts.tables.tables(LOCAL_ADMIN)
    assert table.n_rows == 5
    # A failure half-way through a replacement leaves the previous tables intact.
    hook = next(h for h in kb.ingest_hooks if h.name == "tables")

    def boom(_text):
        raise RuntimeError("disk full")

    hook.row_tokens = boom
    with pytest.raises(RuntimeError):
        hook.on_file("c.xlsx", messy_workbook(tmp_path / "d.xlsx"), {"access_groups": ["everyone"]})
    (table,) = kb.facts.tables.tables(LOCAL_ADMIN)
    assert table.n_rows == 5 and kb.query_facts("q", table="c.xlsx", filters={"Course": "New course"}).table.total == 1
    hook.on_remove("c.xlsx")
    assert kb.facts.tables.tables(LOCAL_ADMIN) == []


def test_access_groups_filter_tables(kb, tmp_path):
    load_table(kb, messy_workbook(tmp_path / "c.xlsx"), "finance/c.xlsx", groups=("finance",))
    assert kb.fact_tables(EMPLOYEE) == []
    with pytest.raises(FactError, match="unknown table"):
        kb.query_facts("q", EMPLOYEE, table="c.xlsx")
    fin = Principal("f", frozenset({"finance"}))
    assert kb.query_facts("q", fin, table="c.xlsx").table.total == 4


def test_excluded_folders_are_not_loaded(make_kb, tmp_path):
    kb = make_kb(exclude_folders=["archive/old"])
    notes = load_table(kb, messy_workbook(tmp_path / "c.xlsx"), "archive/old/c.xlsx")
    assert notes == ["excluded folder: not loaded as a table"]
    load_table(kb, messy_workbook(tmp_path / "c.xlsx"), "archive/older/c.xlsx")
    assert [t.source for t in kb.facts.tables.tables(LOCAL_ADMIN)] == ["archive/older/c.xlsx"]


def test_csv_in_gb18030_with_semicolons_and_numbers_as_text(kb, tmp_path):
    path = tmp_path / "offices.csv"
    path.write_bytes("城市;电话;座位\n上海;021-5555-0100;320\n北京;010-5555-0200;85\n\n深圳;0755-5555-0300;60\n"
                     .encode("gb18030"))
    load_table(kb, path)
    (table,) = kb.facts.tables.tables(LOCAL_ADMIN)
    assert [(c.name, c.type) for c in table.columns] == [("城市", "text"), ("电话", "text"), ("座位", "number")]
    r = kb.query_facts("q", table="offices", filters={"座位": {"<": 100}}, columns=["电话"])
    assert [c.text for h in r.table.rows for c in h.cells] == ["010-5555-0200", "0755-5555-0300"]
    assert r.table.rows[1].cite(r.table.rows[1].cells[0]) == "offices.csv!Sheet1!B5"  # the blank line 4 still counts


def test_pivot_layout_is_loaded_as_a_pivot_and_non_tables_are_reported(kb, tmp_path):
    # Pivot sheets are tables too (issue #15 item 4; details in test_pivot_tables.py).
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Pivot"
    for row in [("Sum of Seats", "Column Labels"), ("Row Labels", "2026", "Grand Total"), ("ESS", 60, 60),
                ("GWS", 20, 20), ("Grand Total", 80, 80)]:
        ws.append(row)
    notes_ws = wb.create_sheet("Notes")
    notes_ws["A1"] = "Just a note."
    wb.save(tmp_path / "p.xlsx")
    notes = load_table(kb, tmp_path / "p.xlsx")
    assert any("'Pivot': pivot table loaded as a table" in n for n in notes)
    assert any("Notes" in n and "no table" in n for n in notes)
    (table,) = kb.facts.tables.tables(LOCAL_ADMIN)
    assert table.pivot and table.sheet == "Pivot" and table.n_rows == 2   # the grand total row is left out
    assert [c.name for c in table.columns] == ["Row Labels", "Sum of Seats / 2026"]


def test_unreadable_spreadsheet_raises_one_clear_error(kb, tmp_path):
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(FactError, match="broken.xlsx: cannot read spreadsheet"):
        load_table(kb, bad)


def test_legacy_xls_with_merged_title_and_dates(kb, tmp_path):
    import xlwt

    wb = xlwt.Workbook()
    ws = wb.add_sheet("Offices")
    ws.write_merge(0, 0, 0, 2, "Office directory")
    for c, h in enumerate(["City", "Phone", "Opened"]):
        ws.write(2, c, h)
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, (city, phone, opened) in enumerate([("Shanghai", "021-5555-0100", datetime(2010, 5, 1)),
                                               ("Beijing", "010-5555-0200", datetime(2015, 9, 1))], start=3):
        ws.write(r, 0, city)
        ws.write(r, 1, phone)
        ws.write(r, 2, opened, date_style)
    wb.save(str(tmp_path / "offices.xls"))
    load_table(kb, tmp_path / "offices.xls")
    (table,) = kb.facts.tables.tables(LOCAL_ADMIN)
    assert [(c.name, c.type) for c in table.columns] == [("City", "text"), ("Phone", "text"), ("Opened", "date")]
    r = kb.query_facts("q", table="offices.xls", filters=[{"column": "Opened", "op": ">", "value": "2012-01-01"}])
    assert [(h.row_num, h.cells[1].text, h.cells[2].text) for h in r.table.rows] == [(5, "010-5555-0200", "2015-09-01")]


def test_sheet_with_a_pivot_part_is_not_a_table():
    # openpyxl sets Sheet.pivot from the workbook's pivot-table parts (reader/excel.py add_pivot).
    from kb_agent.facts.tables.sheet_table import detect_table
    from kb_agent.facts.tables.read import Sheet

    rows = [["City", "Seats"], ["Shanghai", 320], ["Beijing", 85]]
    assert detect_table(Sheet("Data", [list(r) for r in rows]))[0] is not None
    # A pivot part whose cells show no pivot layout stays text only (pivot layouts: test_pivot_tables.py).
    table, reason = detect_table(Sheet("Summary", [list(r) for r in rows], pivot=True))
    assert table is None and "pivot table" in reason


def test_text_first_row_under_a_header_with_a_blank_cell_is_data():
    from kb_agent.facts.tables.sheet_table import detect_table
    from kb_agent.facts.tables.read import Sheet

    rows = [["Name", "Phone", None], ["Alice", "021-5555-0101", "on leave"], ["Bob", "021-5555-0102", None]]
    table, _ = detect_table(Sheet("S", [list(r) for r in rows]))
    assert table.header_rows == (1,) and [n for n, _ in table.rows] == [2, 3]
    assert [c.name for c in table.columns] == ["Name", "Phone", "Column C"]
    # Gaps with numbers below do make a second header row (sub-headers under a group label).
    rows = [["Office", "Staff", None], [None, "Sales", "Service"], ["Shanghai", 40, 25], ["Beijing", 12, 8]]
    table, _ = detect_table(Sheet("S", [list(r) for r in rows]))
    assert table.header_rows == (1, 2)
    assert [c.name for c in table.columns] == ["Office", "Staff / Sales", "Service"]


def test_metadata_line_above_the_header_is_not_the_header():
    from kb_agent.facts.tables.sheet_table import detect_table
    from kb_agent.facts.tables.read import Sheet

    rows = [["部门:", "HR", None, "日期:", "2026-01-05", None, None],
            ["日期", "课程", "开始", "结束", "地点", "讲师", "名额"],
            ["2026-01-07", "ESS", "14:00", "16:00", "3号培训室", "周婷", "30"]]
    table, _ = detect_table(Sheet("S", [list(r) for r in rows]))
    assert table.header_rows == (2,) and [n for n, _ in table.rows] == [3]
    assert table.columns[6].name == "名额" and table.columns[6].type == "number"


def test_year_columns_are_headers():
    from kb_agent.facts.tables.sheet_table import detect_table
    from kb_agent.facts.tables.read import Sheet

    rows = [["Revenue by product (CNY k)"], ["Product", 2024, 2025, 2026],
            ["SL-500", 1200, 1350.5, 1500], ["GWS", "800", "920", "1,050"]]
    table, _ = detect_table(Sheet("S", [list(r) for r in rows]))
    assert table.header_rows == (2,)
    assert [(c.name, c.type) for c in table.columns] == [("Product", "text"), ("2024", "number"),
                                                          ("2025", "number"), ("2026", "number")]
    assert table.rows[1][1][3] == (1050.0, "1,050")


@pytest.mark.parametrize("groups", [(), ("",), ("  ",), ("finance", " ")])
def test_an_empty_or_blank_group_list_is_refused_not_opened_to_everyone(kb, tmp_path, groups):
    with pytest.raises(FactError, match="access groups"):
        load_table(kb, messy_workbook(tmp_path / "c.xlsx"), "finance/c.xlsx", groups=groups)
    assert kb.facts.tables.tables(LOCAL_ADMIN) == []


@pytest.mark.parametrize("columns", [1_500, 20_000])
def test_a_sheet_wider_than_a_table_can_be_is_reported_not_loaded(kb, tmp_path, columns):
    """A CSV of 1,500 columns failed in SQLite ("too many columns"), one of 20,000 in openpyxl's
    column letters: the hook raised, and ingestion logged a traceback for one odd file."""
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join("1" * columns) + "\n",
                    encoding="utf-8")
    notes = load_table(kb, path)
    assert any("Sheet1" in n and f"{columns:,} columns" in n and "text only" in n for n in notes), notes
    assert kb.facts.tables.tables(LOCAL_ADMIN) == []
    narrow = tmp_path / "narrow.csv"
    narrow.write_text("型号,标价\nSL-500,3999\n", encoding="utf-8")
    assert any("1 rows, 2 columns" in n for n in load_table(kb, narrow))

"""The offline router answers calculation questions (issue #15, item 3) through the real ingest
hook, table store and fact route: the same fact_query call an LLM would make (table, filters,
aggregate), the value computed exactly, the rows counted and the cells cited. Questions that
name no column fall through unchanged, and tables the principal may not see are never used.

The workbooks are generated here with openpyxl; every expected value is computed in the test
from the data it wrote."""

from __future__ import annotations

import json
import statistics

import openpyxl
import pytest

from kb_agent.access import EMPLOYEE, LOCAL_ADMIN, Principal
from kb_agent.facts.route import fact_route
from kb_agent.router import route
from kb_agent.tooling import TurnRecorder, load_tool_class
from tests.facts.conftest import load_table
from tests.facts.test_aggregates import build, records

# (city, dept, amount as written, a cell a person reads as no value included)
ZH_ROWS = [("上海", "销售部", "1,200"), ("上海", "服务部", 800), ("北京", "销售部", "NA"), ("北京", "销售部", 450),
           ("深圳", "服务部", ""), ("深圳", "销售部", "300"), ("上海", "销售部", "¥500")]


def zh_amount(v):
    if v in (None, "", "NA"):
        return None
    return float(str(v).replace(",", "").replace("¥", ""))


@pytest.fixture
def zh_kb(kb, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "明细"
    ws.append(["2026年费用明细"])
    ws.append([])
    ws.append(["城市", "部门", "金额"])
    for row in ZH_ROWS:
        ws.append(list(row))
    wb.save(tmp_path / "费用.xlsx")
    load_table(kb, tmp_path / "费用.xlsx", "finance/费用.xlsx")
    return kb


@pytest.fixture
def orders(kb, tmp_path):
    load_table(kb, build(tmp_path / "orders.xlsx"), "finance/orders.xlsx")
    return kb


def test_grouped_sum_in_chinese_with_the_tool_call_and_cells(zh_kb):
    answer, _ = route("各城市的金额合计是多少？", zh_kb, LOCAL_ADMIN)
    assert answer.route == "fact" and answer.tool == "fact_query"
    assert answer.arguments["aggregate"] == {"function": "sum", "column": "金额", "group_by": ["城市"]}
    assert answer.arguments["table"] == "finance/费用.xlsx!明细"
    expected = {}
    for city, _, amount in ZH_ROWS:
        if zh_amount(amount) is not None:
            expected[city] = expected.get(city, 0) + zh_amount(amount)
    payload = answer.output.payload["aggregate"]
    assert {g["group"]["城市"]: g["value"] for g in payload["groups"]} == pytest.approx(expected)
    missing = [i + 4 for i, r in enumerate(ZH_ROWS) if zh_amount(r[2]) is None]   # header on row 3
    assert payload["missing_cells"] == [f"C{n}" for n in missing]
    # The answer says what was counted, in the asker's language, and cites the cells.
    assert "计入 5 行" in answer.text and f"跳过 {len(missing)} 个空白或 NA 单元格" in answer.text
    assert "费用.xlsx!明细!" in answer.text
    assert all(c.kind == "table" and c.locator["ref"].startswith("费用.xlsx!明细!") for c in answer.output.citations)


def test_filtered_average_in_chinese(zh_kb):
    answer, _ = route("上海的平均金额是多少？", zh_kb, LOCAL_ADMIN)
    assert answer.arguments["filters"] == [{"column": "城市", "op": "=", "value": "上海"}]
    values = [zh_amount(a) for c, _, a in ZH_ROWS if c == "上海" and zh_amount(a) is not None]
    assert answer.output.payload["aggregate"]["value"] == pytest.approx(statistics.fmean(values))
    assert "筛选：城市 = 上海" in answer.text and f"计入 {len(values)} 行" in answer.text


def test_english_questions_on_a_messy_sheet(orders):
    recs = records()
    answer, _ = route("What is the average amount in Shanghai?", orders, LOCAL_ADMIN)
    assert answer.arguments["aggregate"] == {"function": "avg", "column": "Amount (CNY)"}
    assert answer.arguments["filters"] == [{"column": "Office / City", "op": "=", "value": "Shanghai"}]
    rows = [x for x in recs if x["City"] == "Shanghai"]
    used = [x["Amount"] for x in rows if x["Amount"] is not None]
    agg = answer.output.payload["aggregate"]
    assert agg["value"] == pytest.approx(statistics.fmean(used)) and agg["rows_used"] == len(used)
    skipped = [f"D{x['row']}" for x in rows if x["Amount"] is None]
    assert skipped and f"{len(skipped)} empty or NA cell(s) skipped ({', '.join(skipped)})" in answer.text
    assert "filters: Office / City = Shanghai" in answer.text

    answer, _ = route("Which city has the highest total qty?", orders, LOCAL_ADMIN)
    totals = {}
    for x in recs:
        if x["Qty"] is not None:
            totals[x["City"]] = totals.get(x["City"], 0) + x["Qty"]
    best = max(totals, key=totals.get)
    (group,) = answer.output.payload["aggregate"]["groups"]
    assert group["group"] == {"Office / City": best} and group["value"] == totals[best]

    answer, _ = route("How many orders came from Beijing?", orders, LOCAL_ADMIN)
    assert answer.output.payload["aggregate"]["value"] == sum(1 for x in recs if x["City"] == "Beijing")


def test_the_offline_call_is_the_tool_call(orders):
    """The offline answer carries arguments that the fact_query tool accepts and answers alike."""
    answer, _ = route("Total amount per dept", orders, LOCAL_ADMIN)
    cls = load_tool_class("fact_query", orders.settings.agent.tools_dir)
    tool = cls({"kb": orders, "principal": LOCAL_ADMIN, "recorder": TurnRecorder()})
    text = tool.call(json.dumps(answer.arguments, ensure_ascii=False))
    assert answer.output.text in text


@pytest.mark.parametrize("question", ["AM是什么意思？", "ESS培训每月几次？", "How do I calculate the total amount in Excel?",
                                      "How many seats does the Paris office have?"])
def test_questions_that_are_not_calculations_fall_through_unchanged(orders, zh_kb, question):
    answer, _ = route(question, orders, LOCAL_ADMIN)
    assert answer is None or "aggregate" not in answer.arguments


def test_only_tables_the_principal_may_see(kb, tmp_path):
    load_table(kb, build(tmp_path / "orders.xlsx"), "finance/orders.xlsx", groups=("finance",))
    assert kb.facts.calculation("What is the total amount per city?", EMPLOYEE) is None
    answer = fact_route("What is the total amount per city?", EMPLOYEE, kb.understand("x"), facts=kb.facts)
    assert answer is None or "aggregate" not in answer.arguments
    finance = Principal("fay", frozenset({"everyone", "finance"}))
    assert kb.facts.calculation("What is the total amount per city?", finance) is not None


def test_a_curated_fact_wins_over_a_calculation(kb, tmp_path):
    # The sample facts answer this phrasing; the table below would also let it be computed.
    question = "How many ESS training sessions are there per month?"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Training", "Month", "Sessions"])
    for row in [("ESS training", "2026-01", 2), ("ESS training", "2026-02", 2), ("GWS training", "2026-01", 1)]:
        ws.append(row)
    wb.save(tmp_path / "t.xlsx")
    load_table(kb, tmp_path / "t.xlsx")
    assert kb.facts.calculation(question, LOCAL_ADMIN) is not None
    answer, _ = route(question, kb, LOCAL_ADMIN)
    assert answer.arguments == {"question": question} and "twice a month" in answer.text

"""The chart data of a turn (kb_agent/ui/charts.py, issue #15 item 5): the last grouped
aggregate among the turn's tool events, with the table's groups, values and order; None for an
ungrouped or non-aggregate answer. One test goes through the real offline route on a generated
XLSX, so the payload shape is the one fact_query really returns."""

from __future__ import annotations

import openpyxl
import pytest

from kb_agent.access import LOCAL_ADMIN
from kb_agent.facts.tables.aggregate import format_value
from kb_agent.kb import KnowledgeBase
from kb_agent.router import route
from kb_agent.tooling import ToolEvent, ToolOutput
from kb_agent.ui.charts import EMPTY_LABEL, aggregate_chart, turn_chart
from tests.facts.conftest import load_table


def aggregate(group_by, groups, function="sum", column="Amount", **more):
    """The shape of AggregateResult.to_dict(), as much of it as a chart reads."""
    return {"function": function, "column": column, "group_by": group_by, "total_groups": len(groups),
            "truncated": False, "value": 0, **more,
            "groups": [{"group": dict(zip(group_by, keys)), "value": value, "display": format_value(value)}
                       for keys, value in groups]}


def event(payload, name="fact_query", error=None):
    return ToolEvent(name, {"question": "q"}, ToolOutput("text", [], payload), error)


def test_one_group_column_is_a_bar_chart_in_the_table_order():
    groups = [(("Shanghai",), 4850.0), (("Beijing",), 1089.5), (("Shenzhen",), 80.5)]   # by value, desc
    chart = turn_chart([event({"aggregate": aggregate(["City"], groups)})])
    assert chart.kind == "bar" and chart.series_title is None
    assert chart.labels == ["Shanghai", "Beijing", "Shenzhen"]     # not A-Z: as the table lists them
    assert [r["value"] for r in chart.rows] == [4850.0, 1089.5, 80.5]
    assert chart.x_title == "City" and chart.y_title == "sum of Amount"
    df = chart.frame()
    assert list(df.columns) == ["label", "value"] and df["value"].tolist() == [4850.0, 1089.5, 80.5]


def test_two_group_columns_give_a_series_per_second_value():
    groups = [(("Shanghai", "Sales"), 10), (("Shanghai", "Service"), 20), (("Beijing", "Sales"), 5),
              ((None, "Sales"), 1)]
    chart = aggregate_chart(aggregate(["City", "Dept"], groups, function="count", column=None))
    assert chart.kind == "bar" and chart.x_title == "City" and chart.series_title == "Dept"
    assert chart.labels == ["Shanghai", "Beijing", EMPTY_LABEL]
    assert [(r["label"], r["series"], r["value"]) for r in chart.rows] == [
        ("Shanghai", "Sales", 10.0), ("Shanghai", "Service", 20.0), ("Beijing", "Sales", 5.0),
        (EMPTY_LABEL, "Sales", 1.0)]
    assert chart.y_title == "count of rows"
    assert list(chart.frame().columns) == ["label", "value", "series"]


def test_a_date_column_is_a_line_in_time_order_whichever_group_column_it_is():
    groups = [(("Sales", "2026-02-02"), 350.0), (("Sales", "2026-01-05"), 1200.0), (("Service", "2026-01-19"), 1050.0)]
    chart = aggregate_chart(aggregate(["Dept", "Date"], groups))
    assert chart.kind == "line" and chart.x_title == "Date" and chart.series_title == "Dept"
    assert [(r["label"], r["value"]) for r in chart.rows] == [("2026-01-05", 1200.0), ("2026-01-19", 1050.0),
                                                            ("2026-02-02", 350.0)]
    df = chart.frame()
    assert str(df["label"].dtype).startswith("datetime64")
    assert df["label"].dt.strftime("%Y-%m-%d").tolist() == ["2026-01-05", "2026-01-19", "2026-02-02"]


def test_truncated_groups_are_the_table_s_and_say_so():
    groups = [(("A",), 9), (("B",), 8)]
    chart = aggregate_chart(aggregate(["Code"], groups, truncated=True, total_groups=7))
    assert chart.labels == ["A", "B"] and "showing 2 of 7 groups" in chart.title


@pytest.mark.parametrize("payload", [
    {"aggregate": aggregate([], [])},                                                  # ungrouped: one number
    {"aggregate": aggregate(["City"], [(("Shanghai",), 3)])},                          # one bar says nothing
    {"aggregate": aggregate(["City"], [(("A",), "2026-01-05"), (("B",), "2026-02-01")], function="max",
                            column="Date")},                                          # not numbers
    {"status": "table", "table": {"rows": []}},                                        # rows, not a calculation
    {"matches": [{"term": "AM"}]},                                                     # a glossary answer
    {},
])
def test_no_chart_without_a_grouped_numeric_result(payload):
    assert turn_chart([event(payload)]) is None


def test_the_last_grouped_aggregate_of_the_turn_wins_and_errors_are_skipped():
    first = {"aggregate": aggregate(["City"], [(("X",), 1), (("Y",), 2)])}
    second = {"aggregate": aggregate(["Dept"], [(("Sales",), 3), (("Service",), 4)])}
    ungrouped = {"aggregate": aggregate([], [])}
    assert turn_chart([event(first), event(second), event(ungrouped)]).x_title == "Dept"
    assert turn_chart([event(first), event(second, error="boom")]).x_title == "City"
    assert turn_chart([]) is None


def test_the_offline_route_s_grouped_answer_charts_the_numbers_of_its_table(make_settings, tmp_path):
    rows = [("上海", 1200), ("北京", 450), ("上海", 800), ("深圳", 300), ("北京", "NA")]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "明细"
    ws.append(["城市", "金额"])
    for row in rows:
        ws.append(list(row))
    wb.save(tmp_path / "费用.xlsx")
    kb = KnowledgeBase(make_settings(facts={"dir": tmp_path / "facts", "reload_check_s": 0}))
    load_table(kb, tmp_path / "费用.xlsx", "finance/费用.xlsx")
    answer, _ = route("各城市的金额合计是多少？", kb, LOCAL_ADMIN)
    chart = turn_chart([ToolEvent(answer.tool, answer.arguments, answer.output)])
    expected: dict[str, float] = {}
    for city, amount in rows:
        if isinstance(amount, int):
            expected[city] = expected.get(city, 0) + amount
    assert {r["label"]: r["value"] for r in chart.rows} == expected
    table_order = [g["group"]["城市"] for g in answer.output.payload["aggregate"]["groups"]]
    assert chart.labels == table_order
    for r in chart.rows:  # the same figure the answer's table line shows
        assert f"城市 = {r['label']}: sum of 金额 = {format_value(r['value'])}" in answer.output.text

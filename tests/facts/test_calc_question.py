"""The calculation-question parser (kb_agent/facts/tables/calc_question.py), in Chinese and
English: what it recognises, the aggregate and filters it builds, and the questions it must
leave alone (false positives are worse than misses). Pure: tables are metadata and the cell
values the store would return for their text columns."""

from __future__ import annotations

import pytest

from kb_agent.facts.tables.calc_question import column_names, parse_calc_question
from kb_agent.facts.tables.schema import ColumnInfo, TableInfo


def make_table(tid: int, source: str, sheet: str, columns: list[tuple[str, str]], pivot: bool = False) -> TableInfo:
    cols = tuple(ColumnInfo(i, chr(ord("A") + i), name, kind) for i, (name, kind) in enumerate(columns))
    return TableInfo(tid, f"{source}!{sheet}", source, sheet, 10, "1", cols, ("everyone",), pivot)


ORDERS = make_table(1, "finance/orders.xlsx", "Orders", [
    ("Date", "date"), ("Office / City", "text"), ("Office / Dept", "text"), ("Amount (CNY)", "number"), ("Qty", "number"),
    ("Product", "text")])
OFFICES = make_table(2, "tables/offices.xlsx", "办公室", [
    ("办公室", "text"), ("城市 City", "text"), ("电话 Phone", "text"), ("座位数 Seats", "number")])
CALENDAR = make_table(3, "tables/training_calendar.xlsx", "2026上半年", [
    ("日期", "date"), ("课程", "text"), ("地点", "text"), ("讲师", "text"), ("名额", "number")])
PIVOT = make_table(4, "sales/summary.xlsx", "Pivot", [("Row Labels", "text"), ("Average of Order Value", "number")],
                   pivot=True)
VALUES = {
    (1, "Office / City"): ["Shanghai", "Beijing", "Shenzhen", "Guangzhou"],
    (1, "Office / Dept"): ["Sales", "Service"],
    (1, "Product"): ["A4 Laser SL-500", "A4 Inkjet GW-20", "A3 Laser SL-900"],
    (2, "办公室"): ["上海总部", "北京办事处", "深圳办事处"],
    (2, "城市 City"): ["上海", "北京", "深圳"],
    (2, "电话 Phone"): ["021-5555-0100", "010-5555-0200", "0755-5555-0300"],
    (3, "课程"): ["ESS员工自助服务培训", "新员工入职培训", "GWS 安全打印管理员培训", "费用报销制度培训"],
    (3, "地点"): ["上海总部8F第3培训室", "深圳办事处6F培训室", "线上"],
    (3, "讲师"): ["HR 周婷", "产品部 赵磊", "财务部 钱进"],
    (4, "Row Labels"): ["East", "West", "North"],
}
TABLES = [ORDERS, OFFICES, CALENDAR, PIVOT]


def values(table: TableInfo, column: ColumnInfo) -> list[str]:
    return VALUES.get((table.id, column.name), [])


def parse(question: str, tables=TABLES):
    calc = parse_calc_question(question, tables, values)
    return None if calc is None else calc.arguments(question)


@pytest.mark.parametrize("question, table, aggregate, filters", [
    # English
    ("What is the total amount per city?", ORDERS, {"function": "sum", "column": "Amount (CNY)",
                                                    "group_by": ["Office / City"]}, []),
    ("Average amount in Shanghai", ORDERS, {"function": "avg", "column": "Amount (CNY)"},
     [{"column": "Office / City", "op": "=", "value": "Shanghai"}]),
    ("How many orders came from Beijing?", ORDERS, {"function": "count"},
     [{"column": "Office / City", "op": "=", "value": "Beijing"}]),
    ("Which city has the highest average amount?", ORDERS,
     {"function": "avg", "column": "Amount (CNY)", "group_by": ["Office / City"], "order_by": "value",
      "order": "desc", "limit": 1}, []),
    ("Which dept sold the most qty?", ORDERS, {"function": "sum", "column": "Qty", "group_by": ["Office / Dept"],
                                              "order_by": "value", "order": "desc", "limit": 1}, []),
    ("Which city has the fewest orders?", ORDERS, {"function": "count", "group_by": ["Office / City"],
                                                  "order_by": "value", "order": "asc", "limit": 1}, []),
    ("How many distinct cities are there?", ORDERS, None, None),  # orders and offices both have cities: no guess
    ("How many distinct cities are in the orders?", ORDERS, {"function": "count_distinct", "column": "Office / City"},
     []),
    ("count distinct products", ORDERS, {"function": "count_distinct", "column": "Product"}, []),
    ("Average unit amount of the A4 products", ORDERS, None, None),  # "unit" is not accounted for
    ("Average amount of the A4 products", ORDERS, {"function": "avg", "column": "Amount (CNY)"},
     [{"column": "Product", "op": "contains", "value": "A4"}]),
    ("Total qty in March 2026", ORDERS, {"function": "sum", "column": "Qty"},
     [{"column": "Date", "op": "=", "value": "2026-03"}]),
    ("What is the highest amount of Sales in Shenzhen?", ORDERS, {"function": "max", "column": "Amount (CNY)"},
     [{"column": "Office / City", "op": "=", "value": "Shenzhen"}, {"column": "Office / Dept", "op": "=", "value": "Sales"}]),
    ("Top 2 cities by total amount", ORDERS, {"function": "sum", "column": "Amount (CNY)", "group_by": ["Office / City"],
                                             "order_by": "value", "order": "desc", "limit": 2}, []),
    ("sum of qty by city and dept", ORDERS, {"function": "sum", "column": "Qty",
                                             "group_by": ["Office / City", "Office / Dept"]}, []),
    ("What is the latest date in the orders?", ORDERS, {"function": "max", "column": "Date"}, []),
    ("How many seats does the Shanghai office have?", OFFICES, None, None),  # "Shanghai" is not in this table
    ("the average order value of the East region in the pivot", PIVOT,
     {"function": "avg", "column": "Average of Order Value"}, [{"column": "Row Labels", "op": "=", "value": "East"}]),
    # Chinese
    ("各城市的座位数合计？", OFFICES, {"function": "sum", "column": "座位数 Seats", "group_by": ["城市 City"]}, []),
    ("按城市统计座位数", OFFICES, {"function": "sum", "column": "座位数 Seats", "group_by": ["城市 City"]}, []),
    ("座位数最多的城市是哪个？", OFFICES, {"function": "sum", "column": "座位数 Seats", "group_by": ["城市 City"],
                                  "order_by": "value", "order": "desc", "limit": 1}, []),
    ("哪个城市的座位最少？", OFFICES, {"function": "sum", "column": "座位数 Seats", "group_by": ["城市 City"],
                              "order_by": "value", "order": "asc", "limit": 1}, []),
    ("上海总共有多少个座位？", OFFICES, {"function": "sum", "column": "座位数 Seats"},
     [{"column": "城市 City", "op": "=", "value": "上海"}]),
    ("一共有多少个城市？", OFFICES, {"function": "count_distinct", "column": "城市 City"}, []),
    ("ESS培训总共有多少名额？", CALENDAR, {"function": "sum", "column": "名额"},
     [{"column": "课程", "op": "contains", "value": "ESS"}]),
    ("2026年3月的平均名额是多少？", CALENDAR, {"function": "avg", "column": "名额"},
     [{"column": "日期", "op": "=", "value": "2026-03"}]),
    ("哪个讲师的课程最多？", CALENDAR, {"function": "count", "column": "课程", "group_by": ["讲师"], "order_by": "value",
                               "order": "desc", "limit": 1}, []),
    ("名额最高的课程是哪个？", CALENDAR, {"function": "max", "column": "名额", "group_by": ["课程"], "order_by": "value",
                                "order": "desc", "limit": 1}, []),
    ("前3名的讲师名额合计", CALENDAR, {"function": "sum", "column": "名额", "group_by": ["讲师"], "order_by": "value",
                              "order": "desc", "limit": 3}, []),
    ("最早的日期是哪天？", CALENDAR, {"function": "min", "column": "日期"}, []),
    ("按讲师统计", CALENDAR, {"function": "count", "group_by": ["讲师"]}, []),   # rows per trainer
])
def test_calculation_questions(question, table, aggregate, filters):
    args = parse(question)
    if aggregate is None:
        assert args is None
        return
    assert args is not None, question
    assert args["table"] == table.name
    assert args["aggregate"] == aggregate
    assert sorted(args.get("filters", []), key=str) == sorted(filters, key=str)
    assert args["question"] == question


@pytest.mark.parametrize("question", [
    "AM是什么意思？",
    "ESS培训每月几次？",
    "How many times a month is the ESS training?",
    "How do I calculate the average amount in a pivot table?",
    "如何统计各城市的座位数？",
    "What does total amount mean?",
    "Why is the amount per city so high?",
    "上海办公室电话是多少？",              # a lookup: 多少 alone is not a calculation
    "上海总部的电话是多少？",
    "What is the address of the Beijing Office?",
    "How many seats does the Paris office have?",   # Paris is no value of this table: not all rows
    "How many orders came from Shanghai and Beijing?",  # an OR of two values cannot be expressed
    "Total amount of orders over 500",        # a number condition cannot be expressed
    "What is the total amount excluding Service?",
    "Total amount in Shanghai excluding Service",   # "excluding" right after a value is no noun of it
    "上海以外的金额合计",
    "Average amount of orders before March 2026",
    "How many orders are not from Beijing?",
    "平均每人每月报销多少钱？",                 # no column of any table
    "How many employees does the company have?",
    "Which city is the Shanghai office in?",  # which without a calculation
    "What is the average amount and the total qty?",
    "在产品售后流程里，AM负责哪些事情？",
])
def test_not_calculations(question):
    assert parse(question) is None


def test_a_table_the_principal_cannot_see_is_never_chosen():
    assert parse("各城市的座位数合计？", tables=[ORDERS, CALENDAR]) is None
    assert parse("各城市的座位数合计？", tables=[OFFICES])["table"] == OFFICES.name


def test_several_tables_fit_then_the_named_one_or_the_pivot_asked_for():
    twin = make_table(9, "sales/orders_2025.xlsx", "Orders2025", [("Office / City", "text"), ("Amount (CNY)", "number")])
    both = [ORDERS, twin]
    assert parse("Total amount per city", tables=both) is None  # two tables fit equally: no guess
    assert parse("Total amount per city in orders2025", tables=both)["table"] == twin.name
    pivot_twin = make_table(10, "sales/summary.xlsx", "Pivot2", [("Row Labels", "text"), ("Sum of Amount", "number")],
                            pivot=True)
    assert parse("total amount per row labels in the pivot", tables=[twin, pivot_twin])["table"] == pivot_twin.name


def test_column_names_come_from_the_header_and_its_parts():
    assert {"城市 city", "城市", "city", "cities"} <= column_names("城市 City")
    assert {"amount (cny)", "amount", "amounts"} <= column_names("Amount (CNY)")
    assert {"座位数", "座位"} <= column_names("座位数")
    assert "order value" in column_names("Average of Order Value")
    assert "求和项:金额" in column_names("求和项:金额") and "金额" in column_names("求和项:金额")
    assert not column_names("No") and "of" not in column_names("Sum of Amount")

"""A grouped calculation's chart in the web chat, in headless Chromium (issue #15, item 5): in
offline mode, on a generated XLSX ingested into the running app, "各城市的金额合计是多少？" shows a
bar chart (Gradio's own Vega plot, drawn as SVG under the page's security policy) with every
city of the answer's table and its number; "total Amount per Date" a line chart instead; the
next, ungrouped question hides both."""

from __future__ import annotations

import re

from datetime import datetime

import openpyxl
import pytest

from kb_agent.facts.tables.aggregate import format_value
from kb_agent.ui.chat import chart_updates
from kb_agent.ui.charts import aggregate_chart
from tests.ui.conftest import ask, shot, sign_in

ROWS = [("上海", "销售部", 1200), ("北京", "销售部", 450), ("上海", "服务部", 800), ("深圳", "服务部", 300),
        ("北京", "服务部", "NA"), ("广州", "销售部", 650)]

ORDERS = [(datetime(2026, 1, 5), "East", 100), (datetime(2026, 2, 2), "West", 40), (datetime(2026, 1, 5), "West", 70),
          (datetime(2026, 3, 2), "East", 90)]


def workbook(folder):
    folder.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "明细"
    ws.append(["城市", "部门", "金额"])
    for row in ROWS:
        ws.append(list(row))
    wb.save(folder / "费用.xlsx")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Orders"
    ws.append(["Date", "Region", "Amount"])
    for day, region, amount in ORDERS:
        ws.append([day, region, amount])
    wb.save(folder / "orders.xlsx")
    return folder


def totals() -> dict[str, float]:
    out: dict[str, float] = {}
    for city, _, amount in ROWS:
        if isinstance(amount, int):
            out[city] = out.get(city, 0) + amount
    return out


def test_chart_updates_show_the_plot_that_fits_and_hide_the_other():
    bar = aggregate_chart({"function": "sum", "column": "金额", "group_by": ["城市"],
                           "groups": [{"group": {"城市": "上海"}, "value": 2.0}, {"group": {"城市": "北京"}, "value": 1.0}]})
    shown, hidden = chart_updates(bar)
    assert shown["visible"] is True and shown["sort"] == ["上海", "北京"] and shown["color"] is None
    assert shown["value"]["value"].tolist() == [2.0, 1.0]
    assert hidden["visible"] is False
    assert all(u["visible"] is False for u in chart_updates(None))


@pytest.mark.browser
def test_a_grouped_answer_renders_its_chart_and_the_next_answer_hides_it(start_app, browser, tmp_path):
    app = start_app()
    report = app.ctx.kb.ingest([workbook(tmp_path / "sheets")])
    assert {f.status for f in report.files} == {"ok"}, report.to_dict()
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.text} {m.location}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    sign_in(page, app.url, "alice")
    chart = page.locator("#kb-chart-bar")
    assert not chart.is_visible()

    ask(page, "各城市的金额合计是多少？")
    page.locator("#kb-chat", has_text="按 城市 分组").wait_for(timeout=60_000)
    chart.wait_for(state="visible", timeout=30_000)
    chart.locator("svg").first.wait_for(timeout=30_000)   # Vega drew it (SVG renderer)
    expected = totals()
    page.wait_for_function(
        "cities => { const t = document.querySelector('#kb-chart-bar svg')?.textContent || '';"
        " return cities.every(c => t.includes(c)); }", arg=list(expected), timeout=30_000)
    svg_text = chart.locator("svg").first.text_content()
    assert "sum of 金额" in svg_text and "城市" in svg_text
    # One bar per group of the table, with the table's number (Vega labels each mark for screen readers).
    bars = [chart.locator("svg [aria-roledescription='bar']").nth(i).get_attribute("aria-label")
            for i in range(chart.locator("svg [aria-roledescription='bar']").count())]
    table = re.findall(r"城市 = (\S+): sum of 金额 = ([\d.,]+) ", page.inner_text("#kb-chat"))
    assert dict(table) == {city: format_value(v) for city, v in expected.items()}
    assert bars == [f"城市: {city}; sum of 金额: {value}" for city, value in table]  # same numbers, same order
    assert not page.locator("#kb-chart-line").is_visible()
    chart.scroll_into_view_if_needed()
    shot(page, "chat_grouped_chart.png")

    line = page.locator("#kb-chart-line")
    ask(page, "total Amount per Date")  # a value per date: a line
    page.locator("#kb-chat", has_text="sum of Amount by Date").wait_for(timeout=60_000)
    line.wait_for(state="visible", timeout=30_000)
    points = line.locator("svg [aria-roledescription='point']")
    points.first.wait_for(state="attached", timeout=30_000)  # hover points: drawn, transparent
    by_day: dict[datetime, float] = {}
    for day, _, amount in ORDERS:
        by_day[day] = by_day.get(day, 0) + amount
    assert [points.nth(i).get_attribute("aria-label") for i in range(points.count())] == [
        f"Date: {day:%b %d, %Y}; sum of Amount: {format_value(v)}" for day, v in sorted(by_day.items())]
    chart.wait_for(state="hidden", timeout=30_000)

    ask(page, "上海的平均金额是多少？")  # one number: no chart
    page.locator("#kb-chat", has_text="筛选：城市 = 上海").wait_for(timeout=60_000)
    line.wait_for(state="hidden", timeout=30_000)
    assert not chart.is_visible()
    # Nothing refused by the page policy, no script error, no asset missing (the browser's own
    # favicon.ico request is not the page's).
    assert not [p for p in problems if "/favicon.ico" not in p], problems
    page.close()

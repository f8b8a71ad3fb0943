"""Aggregate query speed on a 100,000-row sheet: a generated XLSX loaded through the real ingest
hook (openpyxl read, table detection, TableStore), then count / sum / avg with and without
group_by and a filter, timed through FactService.query (what fact_query calls), and the offline
router's calculation route (question parsing + the same aggregate).

The sheet has the mess the aggregates must handle: amounts partly stored as text ("1,234.5"),
some blank and NA cells, dates.

Usage: .venv/bin/python bench/table_aggregate_bench.py [--rows 100000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb_agent.access import EMPLOYEE  # noqa: E402
from kb_agent.config import load_settings  # noqa: E402
from kb_agent.facts.route import calculation_route  # noqa: E402
from kb_agent.kb import KnowledgeBase  # noqa: E402

CITIES = ["上海", "北京", "深圳", "广州", "成都", "杭州", "南京", "武汉"]
PRODUCTS = ["Springlake SL-500", "Guardia G-200", "GWS 授权", "MPS 服务", "eSign 年费"]


def amount(i: int):
    if i % 97 == 0:
        return None          # blank
    if i % 89 == 0:
        return "NA"
    value = round(1000 + (i * 37) % 90000 + (i % 10) / 10, 2)
    return f"{value:,}" if i % 3 == 0 else value   # a third stored as text with thousands separators


def make_sheet(path: Path, n: int) -> None:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Orders")
    ws.append(["华印影像 订单明细"])
    ws.append([])
    ws.append(["订单号", "日期", "城市", "产品", "数量", "金额", "客户经理"])
    start = date(2025, 1, 1)
    for i in range(n):
        ws.append([f"SO{100000 + i}", start + timedelta(days=i % 365), CITIES[i % len(CITIES)],
                   PRODUCTS[i % len(PRODUCTS)], str(1 + i % 20), amount(i), f"AM{i % 50:02d}"])
    wb.save(path)


QUERIES = [
    ("count rows", None, "count"),
    ("count rows, filter", {"城市": "深圳"}, "count"),
    ("count rows by city", None, {"function": "count", "group_by": ["城市"]}),
    ("count_distinct 客户经理", None, {"function": "count_distinct", "column": "客户经理"}),
    ("sum 金额", None, {"function": "sum", "column": "金额"}),
    ("sum 金额, filter", {"城市": "深圳"}, {"function": "sum", "column": "金额"}),
    ("sum 金额 by city", None, {"function": "sum", "column": "金额", "group_by": ["城市"]}),
    ("sum 金额 by city, date filter", [{"column": "日期", "op": "between", "value": ["2025-03", "2025-06"]}],
     {"function": "sum", "column": "金额", "group_by": ["城市"]}),
    ("sum 金额 by city+product, top 5", None,
     {"function": "sum", "column": "金额", "group_by": ["城市", "产品"], "order_by": "value", "limit": 5}),
    ("avg 金额", None, {"function": "avg", "column": "金额"}),
    ("avg 金额, filter", {"产品": "GWS 授权"}, {"function": "avg", "column": "金额"}),
    ("avg 金额 by product", None, {"function": "avg", "column": "金额", "group_by": ["产品"]}),
    ("avg 金额 by product, filter", {"城市": "上海"}, {"function": "avg", "column": "金额", "group_by": ["产品"]}),
]
QUESTIONS = ["各城市的金额合计是多少？", "深圳的平均金额是多少？", "Which 城市 has the highest total 金额?"]


def pct(times: list[float], p: float) -> float:
    times = sorted(times)
    return times[min(len(times) - 1, int(round(p / 100 * (len(times) - 1))))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        settings = load_settings(data_dir=tmp / "data")
        settings.facts.use_embeddings = False
        settings.facts.max_rows_per_sheet = args.rows + 10   # the title, blank and header rows too
        kb = KnowledgeBase(settings)
        path = tmp / "orders.xlsx"
        t0 = time.perf_counter()
        make_sheet(path, args.rows)
        write_s = time.perf_counter() - t0
        hook = kb.facts.ingest_hook()
        t0 = time.perf_counter()
        hook.on_file("sales/orders.xlsx", path, {"access_groups": ["everyone"]})
        load_s = time.perf_counter() - t0
        (table,) = kb.facts.tables.tables(EMPLOYEE)
        print(f"rows={table.n_rows:,} xlsx={path.stat().st_size / 1e6:.1f} MB write={write_s:.1f}s "
              f"load (read + detect + TableStore)={load_s:.1f}s repeat={args.repeat}")
        print(f"{'query':40} {'p50 ms':>8} {'p95 ms':>8}  result")
        for label, filters, aggregate in QUERIES:
            times, result = [], None
            for _ in range(args.repeat):
                t = time.perf_counter()
                result = kb.facts.query("bench", EMPLOYEE, table="orders", filters=filters, aggregate=aggregate)
                times.append(time.perf_counter() - t)
            a = result.aggregate
            shown = (f"{a.n_groups} groups, first {a.groups[0].value:.6g}" if a.groups
                     else f"{a.total.value:.6g}") + f" ({a.total.rows:,} rows, {a.total.missing:,} no value)"
            print(f"{label:40} {pct(times, 50):8.1f} {pct(times, 95):8.1f}  {shown}")
        for q in QUESTIONS:
            times, answer = [], None
            for _ in range(args.repeat):
                t = time.perf_counter()
                answer = calculation_route(q, EMPLOYEE, kb.facts)
                times.append(time.perf_counter() - t)
            what = answer.arguments["aggregate"] if answer else "not a calculation"
            print(f"{'offline: ' + q:40} {pct(times, 50):8.1f} {pct(times, 95):8.1f}  {what}")


if __name__ == "__main__":
    main()

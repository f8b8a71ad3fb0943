"""Table store speed: load a generated N-row spreadsheet through the ingest hook, then time
filter queries and question-matched row search.

Usage: .venv/bin/python bench/facts_tables.py [--rows 20000]
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
from kb_agent.kb import KnowledgeBase  # noqa: E402

CITIES = ["上海", "北京", "深圳", "广州", "成都", "杭州", "南京", "武汉"]
PRODUCTS = ["Springlake SL-500", "Guardia G-200", "GWS 授权", "MPS 服务", "eSign 年费"]


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
                   PRODUCTS[i % len(PRODUCTS)], str(1 + i % 20), round(1000 + (i * 37) % 90000, 2),
                   f"AM{i % 50:02d}"])
    wb.save(path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        settings = load_settings(data_dir=tmp / "data")
        settings.facts.use_embeddings = False
        kb = KnowledgeBase(settings)
        path = tmp / "orders.xlsx"
        make_sheet(path, args.rows)
        hook = kb.facts.ingest_hook()
        t0 = time.perf_counter()
        hook.on_file("sales/orders.xlsx", path, {"access_groups": ["everyone"]})
        load_s = time.perf_counter() - t0
        queries = [
            ("equality", {"城市": "深圳"}),
            ("number range", [{"column": "金额", "op": "between", "value": [50000, 51000]}]),
            ("month + contains", [{"column": "日期", "op": "=", "value": "2025-03"},
                                  {"column": "产品", "op": "contains", "value": "GWS"}]),
        ]
        print(f"rows: {args.rows}; load (read + detect + SQLite + FTS): {load_s:.2f} s "
              f"({args.rows / load_s:.0f} rows/s)")
        for name, filters in queries:
            times = []
            for _ in range(20):
                t0 = time.perf_counter()
                r = kb.query_facts("q", EMPLOYEE, table="orders", filters=filters)
                times.append(time.perf_counter() - t0)
            print(f"filter {name}: {r.table.total} matches, median {statistics.median(times) * 1000:.1f} ms")
        times = []
        for _ in range(10):
            t0 = time.perf_counter()
            rows, conf = kb.facts.match_rows("SO100123 这个订单的客户经理是谁？", EMPLOYEE)
            times.append(time.perf_counter() - t0)
        print(f"question -> rows (FTS5): {len(rows)} row(s), confidence {conf:.2f}, "
              f"median {statistics.median(times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()

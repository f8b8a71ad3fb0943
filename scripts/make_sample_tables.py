"""Generates the sample spreadsheets in sample_kb/tables/ (committed; rerun after edits).

- training_calendar.xlsx: Huayin Imaging's H1 2026 training calendar, deliberately messy the
  way real ones are: a merged title row and a note row above a two-row header (时间 spans
  开始/结束), blank rows between months, dates partly typed as text, seats stored as text.
- office_directory.xlsx: the three offices (docs/sample-company.md) plus a notes sheet that is
  not a table.

Usage: .venv/bin/python scripts/make_sample_tables.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[1]
FIXED_TIME = datetime(2026, 1, 5, 9, 0, 0)  # workbook timestamps fixed: reruns give the same content


def wednesdays(year: int, month: int) -> list[date]:
    d = date(year, month, 1)
    d += timedelta(days=(2 - d.weekday()) % 7)
    out = []
    while d.month == month:
        out.append(d)
        d += timedelta(days=7)
    return out


def training_rows() -> list[list]:
    """(month, [date, course, start, end, place, trainer, seats, mode])"""
    rows = []
    for month in range(1, 7):
        weds = wednesdays(2026, month)
        month_rows = [
            [weds[0], "ESS员工自助服务培训", "14:00", "16:00", "上海总部8F第3培训室", "HR 周婷", "30", "线下+直播"],
            [weds[2], "ESS员工自助服务培训", "14:00", "16:00", "上海总部8F第3培训室", "HR 周婷", "30", "线下+直播"],
        ]
        if month in (1, 4):
            month_rows.append([weds[1], "新员工入职培训", "09:30", "17:30", "上海总部8F第1培训室", "HR 周婷", "40", "线下"])
        if month in (2, 5):
            month_rows.append([weds[1], "Springlake SL-500 产品培训", "10:00", "12:00", "北京办事处12F会议室", "产品部 赵磊",
                               "25", "线下"])
        if month in (3, 6):
            month_rows.append([weds[1], "GWS 安全打印管理员培训", "14:00", "17:00", "深圳办事处6F培训室", "Guardia 产品线 孙悦",
                               "20", "线下"])
        if month == 3:
            month_rows.append([weds[3], "费用报销制度培训", "15:00", "16:00", "线上", "财务部 钱进", "200", "直播"])
        rows.append(sorted(month_rows, key=lambda r: r[0]))
    return rows


def make_training_calendar(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "2026上半年"
    ws["A1"] = "华印影像 2026 年上半年培训日历"
    ws.merge_cells("A1:H1")
    ws["A2"] = "制表：人力资源部（HR）  更新：2026-01-05  报名：OA 系统"
    # Row 3 left blank. Two-row header on rows 4-5: 时间 spans 开始/结束; the others span both rows.
    header = ["日期", "课程", "时间", None, "地点", "讲师", "名额", "形式"]
    for col, text in enumerate(header, start=1):
        if text:
            ws.cell(4, col, text)
    ws.cell(5, 3, "开始")
    ws.cell(5, 4, "结束")
    for col in (1, 2, 5, 6, 7, 8):
        ws.merge_cells(start_row=4, start_column=col, end_row=5, end_column=col)
    ws.merge_cells("C4:D4")
    r = 6
    for i, month_rows in enumerate(training_rows()):
        for row in month_rows:
            day = row[0]
            # Half the dates are typed as text the way people do ("2026/02/04"), half are real dates.
            ws.cell(r, 1, day.strftime("%Y/%m/%d") if i % 2 else datetime(day.year, day.month, day.day))
            for col, value in enumerate(row[1:], start=2):
                ws.cell(r, col, value)  # seats stay text: "30"
            r += 1
        r += 1  # a blank row between months
    ws.cell(r, 1, "合计")
    ws.cell(r, 7, str(sum(int(x[6]) for m in training_rows() for x in m)))
    wb.properties.title = "2026 上半年培训日历"
    wb.properties.creator = "华印影像 人力资源部"
    wb.properties.created = wb.properties.modified = FIXED_TIME
    wb.save(path)


OFFICES = [
    ["上海总部", "Shanghai HQ", "上海", "世纪大道1000号 (1000 Century Ave)", "8F", "021-5555-0100", "王敏", 320],
    ["北京办事处", "Beijing Office", "北京", "建国路88号 (88 Jianguo Rd)", "12F", "010-5555-0200", "李强", 85],
    ["深圳办事处", "Shenzhen Office", "深圳", "科苑路66号 (66 Keyuan Rd)", "6F", "0755-5555-0300", "陈静", 60],
]


def make_office_directory(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "办公室"
    ws["A1"] = "华印影像 办公室通讯录 / Office directory"
    ws.merge_cells("A1:H1")
    ws.append([])
    ws.append(["办公室", "Office", "城市 City", "地址 Address", "楼层 Floor", "电话 Phone", "负责人 Manager", "座位数 Seats"])
    for row in OFFICES:
        ws.append(row)
    notes = wb.create_sheet("说明")
    notes["A1"] = "本表由行政部维护，如有变更请联系行政部。"
    notes["A3"] = "Maintained by Administration."
    wb.properties.title = "办公室通讯录"
    wb.properties.creator = "华印影像 行政部"
    wb.properties.created = wb.properties.modified = FIXED_TIME
    wb.save(path)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    make_training_calendar(out / "training_calendar.xlsx")
    make_office_directory(out / "office_directory.xlsx")
    print(f"sample tables written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "sample_kb" / "tables")

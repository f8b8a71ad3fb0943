"""Real parsers on real generated files: texts and exact locators."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb_agent.errors import ParseError
from kb_agent.ingest.chunking import chunk_sections
from kb_agent.ingest.model import ParseOptions
from kb_agent.ingest.parsers import parser_for
from tests.ingest import helpers

OPT = ParseOptions()


def parse(path: Path, options: ParseOptions = OPT):
    return parser_for(path.suffix).parse(path, options)


def test_docx_heading_paths_lists_and_tables(tmp_path):
    doc = parse(helpers.make_docx(tmp_path / "a.docx"))
    assert doc.title == "售后手册"
    by_path = {s.locator.heading_path: s.text for s in doc.sections}
    assert by_path[("售后手册",)] == "总则段落。"
    assert by_path[("售后手册", "AM职责")] == "AM 在 24 小时内联系客户。\n1. 接收报修请求\n2. 协调 FSE 上门"
    assert by_path[("售后手册", "AM职责", "细则")] == "RMA 跟踪细则。"
    # Heading 2 after a Heading 3 pops back to level 2.
    assert by_path[("售后手册", "FSE职责")] == "角色 | 时限\nFSE | 4 小时"
    assert all(s.locator.kind == "heading" for s in doc.sections)


def test_pptx_slides_with_notes(tmp_path):
    doc = parse(helpers.make_pptx(tmp_path / "t.pptx"))
    assert [s.locator.slide for s in doc.sections] == [1, 2]
    assert doc.sections[1].text == "Specs 参数\n40 pages/min\nNotes: 讲解硒鼓寿命6000页"
    assert doc.title == "Intro 介绍"


def test_xlsx_header_detection_merged_cells_and_ranges(tmp_path):
    doc = parse(helpers.make_xlsx(tmp_path / "o.xlsx"))
    rows = {s.locator.cell_range: s.text for s in doc.sections if s.locator.sheet == "Offices"}
    assert rows["A4:C4"] == "[办公室清单] 城市: 上海; 楼层: 8F; 电话: 021-5555-0100"
    # B6:B7 is merged: row 7 inherits the floor.
    assert rows["A7:C7"] == "[办公室清单] 城市: 深圳(二期); 楼层: 6F; 电话: 0755-5555-0301"
    assert "A3:C3" not in rows  # the header row is not data
    notes = [s for s in doc.sections if s.locator.sheet == "Notes"]
    assert [(s.locator.cell_range, s.text) for s in notes] == [("A2:B2", "key: owner; value: HR")]
    pieces = chunk_sections(doc.sections, 400)
    assert [(p.locator.sheet, p.locator.cell_range) for p in pieces] == [("Offices", "A4:C7"), ("Notes", "A2:B2")]
    assert pieces[0].text.startswith("[办公室清单]\n城市: 上海") and pieces[0].text.count("办公室清单") == 1
    assert pieces[0].locator.label() == "Offices!A4:C7"


def test_pdf_pages_in_order_with_cjk(tmp_path):
    path = helpers.make_pdf(tmp_path / "p.pdf", ["第一页 ESS培训每月两次", "Page two: GWS badge release", "第三页"])
    doc = parse(path)
    assert [s.locator.page for s in doc.sections] == [1, 2, 3]
    assert "ESS培训每月两次" in doc.sections[0].text and "badge release" in doc.sections[1].text


def test_pdf_page_cap_is_reported(tmp_path):
    path = helpers.make_pdf(tmp_path / "long.pdf", [f"page {i}" for i in range(1, 8)], fontname="helv")
    doc = parse(path, ParseOptions(max_pages=3))
    assert [s.locator.page for s in doc.sections] == [1, 2, 3]
    assert doc.notes == ["only the first 3 of 7 pages parsed (ingest.max_pages)"]


def test_markdown_heading_path_and_code_fences(tmp_path):
    p = tmp_path / "m.md"
    p.write_text("# 费用制度\n引言\n## 时限\n30 天内提交\n```\n# not a heading\n```\n## 住宿\n600 元\n", encoding="utf-8")
    doc = parse(p)
    assert doc.title == "费用制度"
    assert [(s.locator.heading_path, s.text) for s in doc.sections] == [
        (("费用制度",), "引言"), (("费用制度", "时限"), "30 天内提交\n```\n# not a heading\n```"),
        (("费用制度", "住宿"), "600 元")]


def test_text_encodings(tmp_path):
    p = tmp_path / "gbk.txt"
    p.write_bytes("办公地址：上海 世纪大道1000号".encode("gb18030"))
    assert parse(p).sections[0].text == "办公地址：上海 世纪大道1000号"
    p16 = tmp_path / "u16.txt"
    p16.write_bytes("UTF-16 文本".encode("utf-16"))
    assert parse(p16).sections[0].text == "UTF-16 文本"
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x00\x01\x02garbage\x00" * 50)
    with pytest.raises(ParseError, match="binary content"):
        parse(binary)


def test_html_headings_and_tables(tmp_path):
    p = tmp_path / "h.html"
    p.write_text("<html><head><title>SLA</title><style>.x{}</style></head><body><h1>MPS SLA</h1>"
                 "<p>一线城市 4 小时</p><h2>Other</h2><table><tr><td>a</td><td>b</td></tr></table>"
                 "<script>var x=1;</script></body></html>", encoding="utf-8")
    doc = parse(p)
    assert doc.title == "SLA"
    assert [(s.locator.heading_path, s.text) for s in doc.sections] == [
        (("MPS SLA",), "一线城市 4 小时"), (("MPS SLA", "Other"), "a | b")]


def test_csv_rows_become_column_value_pairs(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("城市,电话\n上海,021-5555-0100\n", encoding="utf-8")
    doc = parse(p)
    assert [(s.locator.label(), s.text) for s in doc.sections] == [("c!A2:B2", "城市: 上海; 电话: 021-5555-0100")]


def test_pdf_table_becomes_text_rows_in_reading_order(tmp_path):
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 60), "服务时限 SLA", fontname="china-s", fontsize=12)
    rows = [("客户类型", "响应时限"), ("一线城市", "4 小时"), ("其他地区", "下一个工作日")]
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            rect = pymupdf.Rect(72 + c * 200, 80 + r * 24, 72 + (c + 1) * 200, 80 + (r + 1) * 24)
            page.draw_rect(rect, color=(0, 0, 0), width=0.8)
            page.insert_text((rect.x0 + 4, rect.y1 - 7), cell, fontname="china-s", fontsize=11)
    page.insert_text((72, 180), "以上为 MPS 客户标准。", fontname="china-s", fontsize=11)
    doc.save(tmp_path / "t.pdf")
    assert parse(tmp_path / "t.pdf").sections[0].text == (
        "服务时限 SLA\n客户类型 | 响应时限\n一线城市 | 4 小时\n其他地区 | 下一个工作日\n以上为 MPS 客户标准。")

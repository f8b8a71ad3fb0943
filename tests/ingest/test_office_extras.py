"""What a reader of an Office file sees besides its body text: chart data (PPTX, DOCX, XLSX),
Word headers, footers, comments, footnotes and text boxes, and hyperlink targets. Real
parsers on files generated here (tests/ingest/office_files.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kb_agent.chunk import Locator
from kb_agent.errors import ParseError
from kb_agent.ingest.chunking import chunk_sections
from kb_agent.ingest.model import ParseOptions
from kb_agent.ingest.parsers import parser_for
from kb_agent.ingest.parsers.charts import MAX_POINTS, MAX_SERIES, chart_text
from kb_agent.ingest.worker import parse_and_chunk
from tests.ingest import office_files as office


def parse(path: Path):
    return parser_for(path.suffix).parse(path, ParseOptions())


def test_slide_whose_only_content_is_a_chart_is_read(tmp_path):
    """It failed the whole deck with 'no text on any slide'."""
    doc = parse(office.make_chart_deck(tmp_path / "charts.pptx"))
    by_slide = {s.locator.slide: s.text for s in doc.sections}
    assert by_slide[1] == ("Chart (column): Quarterly revenue (CNY m)\n"
                           "Revenue 2025: Q1 = 12.5; Q2 = 14; Q3 = 15.2\n"
                           "Cost 2025: Q1 = 8; Q2 = 9; Q3 = 9.5")
    # In a group, after the slide title; the number format's percentages as shown.
    assert by_slide[2] == "Market share 市场份额\nChart (pie)\nShare: Springlake = 62.5%; Guardia = 37.5%"
    # Date categories are stored as Excel serial numbers with a date format.
    assert by_slide[3] == "Chart (line): AIP booth visitors\nVisitors: 2026-11-03 = 1200; 2026-11-04 = 1350"


CHART_EX = """<cx:chartSpace xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"
  xmlns:cx="http://schemas.microsoft.com/office/drawing/2014/chartex">
 <cx:chartData><cx:data id="0">
  <cx:strDim type="cat"><cx:f>Sheet1!$A$2:$A$4</cx:f><cx:lvl ptCount="3">
   <cx:pt idx="0">Budget</cx:pt><cx:pt idx="1">Extra orders</cx:pt><cx:pt idx="2">Actual</cx:pt></cx:lvl></cx:strDim>
  <cx:numDim type="val"><cx:f>Sheet1!$B$2:$B$4</cx:f><cx:lvl ptCount="3" formatCode="General">
   <cx:pt idx="0">100</cx:pt><cx:pt idx="1">25.5</cx:pt><cx:pt idx="2">125.5</cx:pt></cx:lvl></cx:numDim>
 </cx:data></cx:chartData>
 <cx:chart>
  <cx:title pos="t" align="ctr" overlay="0"><cx:tx><cx:txData><cx:v>MPS revenue bridge</cx:v></cx:txData></cx:tx></cx:title>
  <cx:plotArea><cx:plotAreaRegion>
   <cx:series layoutId="waterfall" uniqueId="{1}"><cx:tx><cx:txData><cx:f>Sheet1!$B$1</cx:f><cx:v>CNY k</cx:v>
   </cx:txData></cx:tx><cx:dataId val="0"/></cx:series>
  </cx:plotAreaRegion><cx:axis id="0"><cx:catScaling gapWidth="0.5"/></cx:axis></cx:plotArea>
 </cx:chart>
</cx:chartSpace>"""


def test_office_2016_chart_in_a_slide_is_read(tmp_path):
    """Waterfall, treemap, funnel... (chartEx) sit in mc:AlternateContent, which python-pptx
    does not list as a shape; the picture PowerPoint keeps for old readers is not a chart."""
    from lxml import etree
    from pptx import Presentation
    from pptx.opc.package import Part
    from pptx.opc.packuri import PackURI

    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "Revenue bridge"
    part = Part(PackURI("/ppt/charts/chartEx1.xml"), "application/vnd.ms-office.chartex+xml", prs.part.package,
                CHART_EX.encode())
    rid = slide.part.relate_to(part, "http://schemas.microsoft.com/office/2014/relationships/chartEx")
    slide.shapes._spTree.append(etree.fromstring(
        '<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
        'xmlns:cx="http://schemas.microsoft.com/office/drawing/2014/chartex">'
        '<mc:Choice Requires="cx1"><p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="9" name="Chart 8"/>'
        '<p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr><p:xfrm><a:off x="0" y="0"/><a:ext cx="1" cy="1"/>'
        '</p:xfrm><a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/drawing/2014/chartex">'
        f'<cx:chart r:id="{rid}"/></a:graphicData></a:graphic></p:graphicFrame></mc:Choice>'
        f'<mc:Fallback><p:sp><p:nvSpPr><p:cNvPr id="10" name="Fallback"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr>'
        f'<p:spPr/><p:txBody><a:bodyPr/><a:p><a:r><a:t>This chart needs a newer PowerPoint</a:t></a:r></a:p>'
        f'<cx:chart r:id="{rid}"/></p:txBody></p:sp></mc:Fallback></mc:AlternateContent>'))
    path = tmp_path / "bridge.pptx"
    prs.save(path)
    (sec,) = parse(path).sections
    assert sec.text == ("Revenue bridge\nChart (waterfall): MPS revenue bridge\n"
                        "CNY k: Budget = 100; Extra orders = 25.5; Actual = 125.5")


def test_broken_chart_part_is_a_parse_error_that_says_why():
    with pytest.raises(ParseError) as bad:
        chart_text(b"<not xml")
    assert bad.value.reason == "chart not read (XMLSyntaxError)"
    with pytest.raises(ParseError, match=r"not a chart part: root"):
        chart_text(b"<root/>")
    # An external entity is not expanded: the chart reads as its title without the file.
    hostile = office.chart_xml("<c:barChart/>", title="Leak &a;").replace(
        b"<c:chartSpace", b'<!DOCTYPE c:chartSpace [<!ENTITY a SYSTEM "file:///etc/passwd">]><c:chartSpace', 1)
    assert "root:" not in chart_text(hostile)


def test_broken_chart_in_a_deck_costs_only_that_chart(tmp_path):
    """python-pptx parses every chart as it opens a deck: one broken chart used to fail the
    whole file ("corrupt PowerPoint file"). The deck opens without it and the report says so."""
    deck = office.make_chart_deck(tmp_path / "charts.pptx")
    broken = office.replace_part(deck, tmp_path / "broken.pptx", "ppt/charts/chart1.xml")
    doc = parse(broken)
    assert doc.notes == ["slide 1: chart not read (XMLSyntaxError)"]
    assert [s.locator.slide for s in doc.sections] == [2, 3]
    assert "Springlake = 62.5%" in doc.sections[0].text


def test_deck_whose_only_content_is_a_broken_chart_says_so(tmp_path):
    from pptx import Presentation

    prs = Presentation()
    office.add_pptx_chart(prs.slides.add_slide(prs.slide_layouts[6]).shapes,
                          office.category_data(["Q1"], {"Revenue": (1.0,)}), title="Only chart")
    prs.save(tmp_path / "one.pptx")
    broken = office.replace_part(tmp_path / "one.pptx", tmp_path / "broken.pptx", "ppt/charts/chart1.xml")
    with pytest.raises(ParseError, match=r"no text on any slide \(slide 1: chart not read \(XMLSyntaxError\)\)"):
        parse(broken)


@pytest.mark.parametrize("part, note, gone", [
    ("word/charts/chart1.xml", "chart under 售后手册 > 服务量 not read (XMLSyntaxError)", "工单数"),
    ("word/header1.xml", "header not read (XMLSyntaxError)", "Guardia 内部资料"),
    ("word/comments.xml", "comments not read (XMLSyntaxError)", "Alice Wang"),
    ("word/footnotes.xml", "footnotes not read (XMLSyntaxError)", "Footnote 1"),
])
def test_broken_word_side_part_costs_only_itself(tmp_path, part, note, gone):
    """python-docx parses headers, footers and comments as it opens a document: one broken
    part used to fail the file. Now it costs what it held, with a note; the rest is read."""
    good = office.make_docx_extras(tmp_path / "manual.docx")
    doc = parse(office.replace_part(good, tmp_path / "broken.docx", part, b"<w:hdr broken"))
    assert doc.notes == [note]
    text = "\n".join(s.text for s in doc.sections)
    assert gone not in text
    assert "AM 在 24 小时内联系客户。" in text and "附录 Appendix" in text  # body and the other header


def test_broken_xlsx_chart_costs_only_that_chart(tmp_path):
    """openpyxl fails on a broken chart part; the workbook used to be reopened read-only (merged
    cells lost). Now only the chart is lost, with a note naming its sheet."""
    good = office.make_chart_workbook(tmp_path / "sales.xlsx")
    doc = parse(office.replace_part(good, tmp_path / "broken.xlsx", "xl/charts/chart1.xml"))
    assert doc.notes == ["Sales: chart 1 not read (XMLSyntaxError)"]
    labels = [s.locator.label() for s in doc.sections]
    assert labels == ["Sales!A2:C2", "Sales!A3:C3", "Sales!A4:C4", "Dashboard", "Share"]


def test_chart_that_claims_a_million_points_costs_nothing():
    """ptCount and idx are what the file says: read sparsely, a tiny part cannot make the
    parser build million-entry lists; series past MAX_SERIES are counted, not read."""
    series = "".join(office.num_series(f"S{k}", {0: 1, 999_999: 2}, pt_count=999_999_999)
                     for k in range(MAX_SERIES + 50))
    blob = office.chart_xml(f"<c:lineChart>{series}</c:lineChart>", title="Hostile")
    t0 = time.perf_counter()
    text = chart_text(blob)
    assert time.perf_counter() - t0 < 2.0
    lines = text.split("\n")
    assert lines[0] == "Chart (line): Hostile" and lines[1] == "S0: 1; 2" and lines[-1] == "… (50 more series)"
    assert len(lines) == 2 + MAX_SERIES


def test_long_series_is_bounded_and_each_line_names_its_series():
    cats = "".join(f'<c:pt idx="{i}"><c:v>D{i}</c:v></c:pt>' for i in range(5000))
    cat = f'<c:cat><c:strRef><c:f>S!$A$2</c:f><c:strCache><c:ptCount val="5000"/>{cats}</c:strCache></c:strRef></c:cat>'
    blob = office.chart_xml("<c:barChart><c:barDir val=\"bar\"/>"
                            + office.num_series("Load", {i: i for i in range(5000)}, categories=cat)
                            + "</c:barChart>", title="Daily load")
    lines = chart_text(blob).split("\n")
    assert lines[0] == "Chart (bar): Daily load"
    assert lines[1].startswith("Load: D0 = 0; D1 = 1;") and lines[2].startswith("Load (cont.): D50 = 50;")
    assert lines[-1].endswith(f"D{MAX_POINTS - 1} = {MAX_POINTS - 1}; … ({5000 - MAX_POINTS} more values)")
    assert len(lines) == 1 + MAX_POINTS // 50


def test_multi_level_categories_name_their_outer_level():
    lvl = lambda pts: "<c:lvl>" + "".join(f'<c:pt idx="{i}"><c:v>{v}</c:v></c:pt>' for i, v in pts) + "</c:lvl>"  # noqa: E731
    cat = ('<c:cat><c:multiLvlStrRef><c:f>S!$A$2:$B$5</c:f><c:multiLvlStrCache><c:ptCount val="4"/>'
           + lvl([(0, "Q1"), (1, "Q2"), (2, "Q1"), (3, "Q2")]) + lvl([(0, "2025"), (2, "2026")])
           + "</c:multiLvlStrCache></c:multiLvlStrRef></c:cat>")
    blob = office.chart_xml("<c:barChart>" + office.num_series("Tickets", {0: 5, 1: 6, 2: 7, 3: 8}, categories=cat)
                            + "</c:barChart>")
    assert chart_text(blob) == "Chart (column)\nTickets: 2025 / Q1 = 5; 2025 / Q2 = 6; 2026 / Q1 = 7; 2026 / Q2 = 8"


def test_xlsx_chart_over_a_huge_range_reads_only_what_it_shows(tmp_path):
    """A cacheless chart over whole columns (openpyxl writes no caches): the range is clipped
    to the sheet's cells and at most MAX_POINTS values are read."""
    import openpyxl
    from openpyxl.chart import LineChart, Reference

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Log"
    ws.append(["Day", "Calls"])
    for i in range(1, 5001):
        ws.append([f"D{i}", i])
    chart = LineChart()
    chart.title = "Calls per day"
    chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=1_000_000), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=1_000_000))
    ws.add_chart(chart, "D2")
    wb.save(tmp_path / "log.xlsx")
    t0 = time.perf_counter()
    doc = parse(tmp_path / "log.xlsx")
    assert time.perf_counter() - t0 < 20
    (text,) = [s.text for s in doc.sections if s.text.startswith("Chart")]
    assert text.split("\n")[1].startswith("Calls: D1 = 1; D2 = 2;")
    assert text.endswith(f"D{MAX_POINTS} = {MAX_POINTS}; … ({5000 - MAX_POINTS} more values)")


def test_docx_chart_is_read_where_it_stands(tmp_path):
    doc = parse(office.make_docx_extras(tmp_path / "manual.docx"))
    by_path = {s.locator.heading_path: s.text for s in doc.sections if s.locator.kind == "heading"}
    assert by_path[("售后手册", "服务量")].startswith("Chart (column): 2026 年工单\n工单数: 华东 = 320; 华北 = 210\n"
                                                  "季度汇总见上图。")


def test_docx_headers_and_footers_once_each_with_their_links(tmp_path):
    """Section 2 links to section 1's header and footer; section 3 has its own header and a
    footer part with the same text: two headers, one footer. Page numbers are not content."""
    doc = parse(office.make_docx_extras(tmp_path / "manual.docx"))
    side = [(s.locator.kind, s.text) for s in doc.sections if s.locator.kind in ("header", "footer")]
    assert side == [("header", "Guardia 内部资料 Confidential"),
                    ("footer", "IT 服务台 021-5555-0100 · 第 内网 (https://intra.example.com)"),
                    ("header", "附录 Appendix")]
    assert Locator(kind="header").label() == "header" and Locator(kind="footer").label() == "footer"


def test_chart_in_a_header_is_read_with_the_header(tmp_path):
    import docx

    d = docx.Document()
    d.add_paragraph("正文")
    header = d.sections[0].header
    header.paragraphs[0].text = "KPI 看板"
    office.add_docx_chart(d, header.add_paragraph(), office.chart_part_blob(
        office.category_data(["SLA"], {"达成率": (0.97,)}, number_format="0%"), title="服务达成率"), owner=header.part)
    d.save(tmp_path / "kpi.docx")
    (head,) = [s.text for s in parse(tmp_path / "kpi.docx").sections if s.locator.kind == "header"]
    assert head == "KPI 看板\nChart (column): 服务达成率\n达成率: SLA = 97%"


def test_docx_comments_with_author_anchor_and_link(tmp_path):
    doc = parse(office.make_docx_extras(tmp_path / "manual.docx"))
    comments = [(s.locator, s.text) for s in doc.sections if s.locator.kind == "comment"]
    assert comments == [
        (Locator.for_comment("售后手册", "AM职责"),
         "Comment by Alice Wang on “AM 在 24 小时内联系客户。”: 时限请与 MPS 合同核对"),
        (Locator.for_comment("售后手册", "服务量"),
         "Comment by Bob on “季度汇总见上图。”: 数据来源：CRM 报表 (https://crm.example.com/r/7)")]
    assert comments[0][0].label() == "售后手册 > AM职责 (comment)"
    assert Locator.from_dict(comments[0][0].to_dict()) == comments[0][0]


def test_docx_body_hyperlinks_footnotes_and_text_boxes(tmp_path):
    doc = parse(office.make_docx_extras(tmp_path / "manual.docx"))
    by_path = {s.locator.heading_path: s.text for s in doc.sections if s.locator.kind == "heading"}
    # A link to an address keeps it; a link inside the document (a contents entry) does not.
    assert by_path[("售后手册",)] == "报修入口：服务门户 (https://service.example.com/rma)\n目录AM职责"
    assert by_path[("售后手册", "AM职责")] == (
        "AM 在 24 小时内联系客户。\nFootnote 1: 工作日按上海时间计算。\n"
        "Guide: AM guide (https://docs.example.com/am-guide)\n"  # a HYPERLINK field
        "见右侧提示框\n提示：RMA 单号以 R 开头")  # the text box once, not its VML copy too


def test_docx_extras_become_chunks_with_readable_citations(tmp_path):
    from kb_agent.tooling import Citation
    from kb_agent.ui.render import citations_block

    result = parse_and_chunk(office.make_docx_extras(tmp_path / "manual.docx"), ParseOptions())
    labels = [p.locator.label() for p in result.pieces]
    assert labels == ["售后手册", "售后手册 > AM职责", "售后手册 > 服务量", "header", "footer", "header",
                      "售后手册 > AM职责 (comment)", "售后手册 > 服务量 (comment)"]
    comment = result.pieces[6]
    block = citations_block([Citation(source="processes/manual.docx", locator=comment.locator.to_dict(),
                                      text=comment.text)], "en")
    assert "**manual.docx** · 售后手册 &gt; AM职责 (comment)" in block


def test_xlsx_charts_read_their_cells(tmp_path):
    """openpyxl writes charts without value caches: the cells they reference are read. A chart
    drawn next to its data gets the data's range; one on another sheet or a chart sheet the
    sheet it is on."""
    doc = parse(office.make_chart_workbook(tmp_path / "sales.xlsx"))
    charts = [(s.locator.label(), s.text) for s in doc.sections if s.text.startswith("Chart")]
    assert charts == [
        ("Sales!A1:C4", ("Chart (column): Quarterly revenue\nAxes: Quarter; CNY m\n"
                         "Revenue: Q1 = 12.5; Q2 = 14; Q3 = 15.2\nCost: Q1 = 8; Q2 = 9; Q3 = 9.5")),
        ("Dashboard", "Chart (column): Cost only\nCost: Q1 = 8; Q2 = 9; Q3 = 9.5"),
        ("Share", "Chart (pie): Revenue share\nRevenue: Q1 = 12.5; Q2 = 14; Q3 = 15.2")]
    pieces = chunk_sections(doc.sections, 400)
    assert [p.locator.label() for p in pieces] == ["Sales!A1:C4", "Dashboard", "Share"]


def test_xlsx_chart_cache_is_read_when_present(tmp_path):
    """Excel and PowerPoint keep each series' values in the chart part: used as they are."""
    blob = office.chart_part_blob(office.category_data(["华东", "华北"], {"工单数": (320, 210)}), title="工单")
    assert chart_text(blob, resolve=lambda f, n: ([["should not be asked"]], 1)) == \
        "Chart (column): 工单\n工单数: 华东 = 320; 华北 = 210"


def test_docx_merged_cells_tracked_changes_and_content_controls(tmp_path):
    """A vertically merged cell repeats in the rows it spans (as python-docx reads it); a
    tracked insertion is text, a tracked deletion is not; a content control's text is read."""
    import docx
    from docx.oxml import parse_xml

    w = f'xmlns:w="{office.W_NS}"'
    d = docx.Document()
    d.add_heading("服务时限", level=1)
    t = d.add_table(rows=3, cols=2)
    t.cell(0, 0).text, t.cell(0, 1).text = "区域", "时限"
    t.cell(1, 0).merge(t.cell(2, 0)).text = "一线城市"
    t.cell(1, 1).text, t.cell(2, 1).text = "4 小时", "MPS 客户 2 小时"
    p = d.add_paragraph("现场响应")
    p._p.append(parse_xml(f'<w:ins {w} w:id="1" w:author="A"><w:r><w:t>不超过 4 小时</w:t></w:r></w:ins>'))
    p._p.append(parse_xml(f'<w:del {w} w:id="2" w:author="A"><w:r><w:delText>次日</w:delText></w:r></w:del>'))
    d.element.body.insert(len(d.element.body) - 1, parse_xml(
        f'<w:sdt {w}><w:sdtPr><w:alias w:val="Owner"/></w:sdtPr><w:sdtContent>'
        '<w:p><w:r><w:t>负责人：客户经理（AM）</w:t></w:r></w:p></w:sdtContent></w:sdt>'))
    path = tmp_path / "sla.docx"
    d.save(path)
    (sec,) = parse(path).sections
    assert sec.text == ("区域 | 时限\n一线城市 | 4 小时\n一线城市 | MPS 客户 2 小时\n"
                        "现场响应不超过 4 小时\n负责人：客户经理（AM）")

"""Office files with charts, headers, footers, comments, notes, text boxes and hyperlinks,
generated with python-pptx, python-docx and openpyxl (the parts python-docx has no API for
are added through its package, the way Word lays them out)."""

from __future__ import annotations

from pathlib import Path

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
RT_HYPERLINK = R_NS + "/hyperlink"


def category_data(categories, series: dict[str, tuple], number_format=None):
    from pptx.chart.data import CategoryChartData

    data = CategoryChartData(number_format=number_format) if number_format else CategoryChartData()
    data.categories = categories
    for name, values in series.items():
        data.add_series(name, values)
    return data


def add_pptx_chart(shapes, data, title: str | None = None, kind: str = "COLUMN_CLUSTERED"):
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches

    frame = shapes.add_chart(getattr(XL_CHART_TYPE, kind), Inches(1), Inches(1.5), Inches(6), Inches(4), data)
    if title:
        frame.chart.has_title = True
        frame.chart.chart_title.text_frame.text = title
    return frame


def make_chart_deck(path: Path) -> Path:
    """Slide 1: only a chart (no text box at all). Slide 2: a title and a pie chart in a group
    with percentages. Slide 3: a line chart over dates."""
    import datetime as dt

    from pptx import Presentation
    from pptx.chart.data import CategoryChartData

    prs = Presentation()
    s1 = prs.slides.add_slide(prs.slide_layouts[6])  # blank
    add_pptx_chart(s1.shapes, category_data(["Q1", "Q2", "Q3"], {"Revenue 2025": (12.5, 14.0, 15.2),
                                                                  "Cost 2025": (8, 9, 9.5)}),
                   title="Quarterly revenue (CNY m)")
    s2 = prs.slides.add_slide(prs.slide_layouts[5])  # title only
    s2.shapes.title.text = "Market share 市场份额"
    group = s2.shapes.add_group_shape()
    add_pptx_chart(group.shapes, category_data(["Springlake", "Guardia"], {"Share": (0.625, 0.375)},
                                               number_format="0.0%"), kind="PIE")
    s3 = prs.slides.add_slide(prs.slide_layouts[6])
    dates = CategoryChartData()
    dates.categories = [dt.date(2026, 11, 3), dt.date(2026, 11, 4)]
    dates.add_series("Visitors", (1200, 1350))
    add_pptx_chart(s3.shapes, dates, title="AIP booth visitors", kind="LINE")
    prs.save(path)
    return path


def chart_part_blob(data, title: str | None = None, kind: str = "COLUMN_CLUSTERED") -> bytes:
    """A chart part as PowerPoint writes it (the same DrawingML chart Word embeds)."""
    from pptx import Presentation

    prs = Presentation()
    frame = add_pptx_chart(prs.slides.add_slide(prs.slide_layouts[6]).shapes, data, title, kind)
    return frame.chart_part.blob


def add_docx_chart(document, paragraph, blob: bytes, n: int = 1, owner=None) -> None:
    """Embed a chart part inline in ``paragraph``, as Word does (word/charts/chartN.xml);
    ``owner``: the part the paragraph is in (a header's), by default the document's."""
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml import parse_xml

    owner = owner or document.part
    part = Part(PackURI(f"/word/charts/chart{n}.xml"),
                "application/vnd.openxmlformats-officedocument.drawingml.chart+xml", blob, document.part.package)
    rid = owner.relate_to(part, R_NS + "/chart")
    run = paragraph.add_run()
    run._r.append(parse_xml(
        f'<w:drawing xmlns:w="{W_NS}" xmlns:r="{R_NS}" '
        'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart">'
        f'<wp:inline><wp:extent cx="5486400" cy="3200400"/><wp:docPr id="{100 + n}" name="Chart {n}"/>'
        '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart">'
        f'<c:chart r:id="{rid}"/></a:graphicData></a:graphic></wp:inline></w:drawing>'))


def add_hyperlink(paragraph, part, text: str, url: str) -> None:
    """A ``w:hyperlink`` to an external address (python-docx reads them but cannot add them)."""
    from docx.oxml import parse_xml

    rid = part.relate_to(url, RT_HYPERLINK, is_external=True)
    paragraph._p.append(parse_xml(f'<w:hyperlink xmlns:w="{W_NS}" xmlns:r="{R_NS}" r:id="{rid}">'
                                  f'<w:r><w:rPr><w:rStyle w:val="Hyperlink"/></w:rPr><w:t>{text}</w:t></w:r>'
                                  '</w:hyperlink>'))


def add_field(paragraph, instr: str, shown: str) -> None:
    """A complex field (begin, instruction, separate, cached result, end), as Word writes
    HYPERLINK and PAGE fields."""
    from docx.oxml import parse_xml

    for xml in ('<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
                f'<w:r><w:instrText xml:space="preserve"> {instr} </w:instrText></w:r>',
                '<w:r><w:fldChar w:fldCharType="separate"/></w:r>',
                f'<w:r><w:t xml:space="preserve">{shown}</w:t></w:r>',
                '<w:r><w:fldChar w:fldCharType="end"/></w:r>'):
        paragraph._p.append(parse_xml(xml.replace("<w:r>", f'<w:r xmlns:w="{W_NS}">', 1)))


def add_footnote(document, paragraph, text: str) -> None:
    """A footnote referenced at the end of ``paragraph`` (word/footnotes.xml with Word's two
    separator notes)."""
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml import parse_xml

    blob = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:footnotes xmlns:w="{W_NS}">'
            '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
            '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/>'
            '</w:r></w:p></w:footnote>'
            f'<w:footnote w:id="1"><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:footnote></w:footnotes>').encode()
    part = Part(PackURI("/word/footnotes.xml"),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml", blob,
                document.part.package)
    document.part.relate_to(part, R_NS + "/footnotes")
    paragraph._p.append(parse_xml(f'<w:r xmlns:w="{W_NS}"><w:rPr><w:rStyle w:val="FootnoteReference"/></w:rPr>'
                                  '<w:footnoteReference w:id="1"/></w:r>'))


def add_text_box(paragraph, text: str) -> None:
    """A DrawingML text box with the VML copy Word writes for old readers (read once)."""
    from docx.oxml import parse_xml

    box = f'<w:txbxContent><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:txbxContent>'
    paragraph._p.append(parse_xml(
        f'<w:r xmlns:w="{W_NS}" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
        'xmlns:v="urn:schemas-microsoft-com:vml"><mc:AlternateContent>'
        f'<mc:Choice Requires="wps"><w:drawing><wps:txbx>{box}</wps:txbx></w:drawing></mc:Choice>'
        f'<mc:Fallback><w:pict><v:textbox>{box}</v:textbox></w:pict></mc:Fallback>'
        '</mc:AlternateContent></w:r>'))


def make_docx_extras(path: Path) -> Path:
    """Three sections: the second repeats the first's header and footer (linked), the third
    has its own header and a footer with the same text as the first (another part). Body:
    hyperlinks (relationship and field), a chart, a footnote, a text box, two comments."""
    import docx

    d = docx.Document()
    d.add_heading("售后手册", level=1)
    p = d.add_paragraph("报修入口：")
    add_hyperlink(p, d.part, "服务门户", "https://service.example.com/rma")
    d.add_paragraph("目录").add_run()  # an internal link (a table of contents entry) keeps its text only
    from docx.oxml import parse_xml

    d.paragraphs[-1]._p.append(parse_xml(f'<w:hyperlink xmlns:w="{W_NS}" w:anchor="_Toc1"><w:r>'
                                         '<w:t>AM职责</w:t></w:r></w:hyperlink>'))
    d.add_heading("AM职责", level=2)
    am = d.add_paragraph()
    run = am.add_run("AM 在 24 小时内联系客户。")
    d.add_comment(run, text="时限请与 MPS 合同核对", author="Alice Wang", initials="AW")
    add_footnote(d, am, "工作日按上海时间计算。")
    f = d.add_paragraph("Guide: ")
    add_field(f, 'HYPERLINK "https://docs.example.com/am-guide"', "AM guide")
    add_text_box(d.add_paragraph("见右侧提示框"), "提示：RMA 单号以 R 开头")
    d.add_heading("服务量", level=2)
    add_docx_chart(d, d.add_paragraph(), chart_part_blob(
        category_data(["华东", "华北"], {"工单数": (320, 210)}), title="2026 年工单"))
    d.add_paragraph("季度汇总见上图。")
    d.add_comment(d.paragraphs[-1].runs[0], text="", author="Bob", initials="B")
    reply = list(d.comments)[-1]
    reply.paragraphs[0].add_run("数据来源：")
    add_hyperlink(reply.paragraphs[0], d.part._comments_part, "CRM 报表", "https://crm.example.com/r/7")

    s1 = d.sections[0]
    s1.header.paragraphs[0].text = "Guardia 内部资料 Confidential"
    fp = s1.footer.paragraphs[0]
    fp.text = "IT 服务台 021-5555-0100 · 第 "
    add_field(fp, "PAGE", "1")
    add_hyperlink(fp, s1.footer.part, "内网", "https://intra.example.com")
    d.add_section()  # header and footer linked to the previous section's
    d.add_paragraph("第二节正文。")
    s3 = d.add_section()
    s3.header.is_linked_to_previous = False
    s3.header.paragraphs[0].text = "附录 Appendix"
    s3.footer.is_linked_to_previous = False
    s3.footer.paragraphs[0].text = "IT 服务台 021-5555-0100 · 第 "
    add_field(s3.footer.paragraphs[0], "PAGE", "9")
    add_hyperlink(s3.footer.paragraphs[0], s3.footer.part, "内网", "https://intra.example.com")
    d.add_paragraph("附录正文。")
    d.save(path)
    return path


def make_chart_workbook(path: Path) -> Path:
    """Sheet "Sales" with data and a bar chart over it; sheet "Dashboard" with only a chart of
    Sales' cells; a chart sheet "Share" with a pie chart. openpyxl writes no value caches."""
    import openpyxl
    from openpyxl.chart import BarChart, PieChart, Reference

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    for row in [("Quarter", "Revenue", "Cost"), ("Q1", 12.5, 8), ("Q2", 14, 9), ("Q3", 15.2, 9.5)]:
        ws.append(row)
    bar = BarChart()
    bar.title = "Quarterly revenue"
    bar.x_axis.title = "Quarter"
    bar.y_axis.title = "CNY m"
    bar.add_data(Reference(ws, min_col=2, min_row=1, max_col=3, max_row=4), titles_from_data=True)
    bar.set_categories(Reference(ws, min_col=1, min_row=2, max_row=4))
    ws.add_chart(bar, "E2")
    dash = wb.create_sheet("Dashboard")
    cost = BarChart()
    cost.title = "Cost only"
    cost.add_data(Reference(ws, min_col=3, min_row=1, max_row=4), titles_from_data=True)
    cost.set_categories(Reference(ws, min_col=1, min_row=2, max_row=4))
    dash.add_chart(cost, "A1")
    share = wb.create_chartsheet("Share")
    pie = PieChart()
    pie.title = "Revenue share"
    pie.add_data(Reference(ws, min_col=2, min_row=1, max_row=4), titles_from_data=True)
    pie.set_categories(Reference(ws, min_col=1, min_row=2, max_row=4))
    share.add_chart(pie)
    wb.save(path)
    return path


def replace_part(src: Path, dst: Path, name: str, data: bytes = b"<c:chartSpace broken") -> Path:
    """A copy of the package ``src`` with part ``name`` replaced (by default: not XML)."""
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        assert name in zin.namelist(), name
        for info in zin.infolist():
            zout.writestr(info, data if info.filename == name else zin.read(info))
    return dst


def chart_xml(plot: str, title: str = "") -> bytes:
    """A chart part around ``plot`` (the c:plotArea's content), as a hostile file might hold."""
    title_xml = (f"<c:title><c:tx><c:rich><a:p><a:r><a:t>{title}</a:t></a:r></a:p></c:rich></c:tx></c:title>"
                 if title else "")
    return ('<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
            'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
            f"<c:chart>{title_xml}<c:plotArea>{plot}</c:plotArea></c:chart></c:chartSpace>").encode()


def num_series(name: str, values: dict[int, float], pt_count: int | None = None, categories: str = "") -> str:
    pts = "".join(f'<c:pt idx="{i}"><c:v>{v}</c:v></c:pt>' for i, v in values.items())
    count = pt_count if pt_count is not None else len(values)
    return (f"<c:ser><c:tx><c:v>{name}</c:v></c:tx>{categories}<c:val><c:numRef><c:f>S!$B$2</c:f><c:numCache>"
            f'<c:formatCode>General</c:formatCode><c:ptCount val="{count}"/>{pts}</c:numCache></c:numRef>'
            "</c:val></c:ser>")

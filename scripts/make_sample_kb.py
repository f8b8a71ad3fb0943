#!/usr/bin/env python3
"""Generate the sample knowledge base in sample_kb/ (reproducible; the output is committed).

Every document describes the fictional company of docs/sample-company.md. Run from the repo
root: ``.venv/bin/python scripts/make_sample_kb.py [OUT_DIR]``. sample_kb/tables/ belongs to
the fact store and is not touched here. Needs python-docx, python-pptx, openpyxl, PyMuPDF,
Pillow, numpy, OpenCV and a CJK font (Debian fonts-wqy-microhei).
"""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CJK_FONTS = ["/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
             "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"]
FIXED_DATE = (2026, 1, 5, 9, 0, 0)


def cjk_font_path() -> str:
    for f in CJK_FONTS:
        if Path(f).is_file():
            return f
    raise SystemExit("No CJK font found: apt-get install fonts-wqy-microhei (scripts/system-deps.sh)")


# -- DOCX: after-sales process (zh, headings) ----------------------------------------------
def make_after_sales_docx(path: Path) -> None:
    import docx

    d = docx.Document()
    d.core_properties.title = "产品售后流程"
    d.core_properties.author = "华印影像 客户服务部"
    d.add_heading("产品售后流程", level=1)
    d.add_paragraph("本文件规定华印影像（Huayin Imaging）所有产品线（Springlake、Guardia、MPS、eSign）的售后服务流程，"
                    "适用于全国各办事处。")
    d.add_heading("适用范围", level=2)
    d.add_paragraph("适用于客户报修、退换货及服务满意度回访。MPS 客户另按服务等级协议（SLA）执行。")
    d.add_heading("客户经理（AM）职责", level=2)
    d.add_paragraph("在产品售后流程中，客户经理（AM, Account Manager）负责以下事项：")
    for item in ["接收客户的报修请求，并在 CRM 系统中创建服务请求；",
                 "在 24 小时内联系客户，确认故障现象；",
                 "协调现场服务工程师（FSE）上门服务；",
                 "跟踪退货授权（RMA）流程，处理退换货；",
                 "结案后在 3 个工作日内完成满意度回访。"]:
        d.add_paragraph(item, style="List Number")
    d.add_heading("现场服务工程师（FSE）职责", level=2)
    d.add_paragraph("FSE 按 AM 的派工上门检修，并在 CRM 中填写服务报告。")
    d.add_heading("服务时限", level=2)
    t = d.add_table(rows=3, cols=2)
    t.style = "Table Grid"
    for r, (a, b) in enumerate([("客户类型", "现场响应时限"),
                                 ("MPS 一线城市客户（北京、上海、广州、深圳）", "4 小时内"),
                                 ("其他地区客户", "下一个工作日")]):
        t.cell(r, 0).text, t.cell(r, 1).text = a, b
    d.save(path)


# -- PDF helpers --------------------------------------------------------------------------
def _pdf(pages: list[list[str]], path: Path, title: str, fontname: str = "helv") -> None:
    import pymupdf

    doc = pymupdf.open()
    for lines in pages:
        page = doc.new_page(width=595, height=842)
        y = 72
        for line in lines:
            size = 16 if line.startswith("# ") else 11
            text = line[2:] if line.startswith("# ") else line
            page.insert_text((60, y), text, fontname=fontname, fontsize=size)
            y += size + 9
    doc.set_metadata({"title": title, "author": "Huayin Imaging", "creationDate": "D:20260105090000",
                      "modDate": "D:20260105090000", "producer": "make_sample_kb.py", "creator": "make_sample_kb.py"})
    doc.save(path, garbage=4, deflate=True, no_new_id=True)


def make_ess_notice_pdf(path: Path) -> None:
    _pdf([[
        "# 关于ESS员工自助服务培训的通知",
        "各部门同事：",
        "为帮助大家熟练使用ESS（员工自助服务）系统办理请假、考勤和报销查询，",
        "人力资源部（HR）将定期组织ESS培训。",
        "培训频次：每月两次，分别在每月第一个和第三个星期三。",
        "培训时间：14:00–16:00。",
        "培训地点：上海总部8楼第3培训室，同时提供线上直播。",
        "报名方式：在OA系统中提交报名申请。",
        "负责部门：人力资源部（HR）。",
        "华印影像 人力资源部",
        "2026年1月5日",
    ]], path, "ESS员工自助服务培训通知", fontname="china-s")


def make_gws_guide_pdf(path: Path) -> None:
    _pdf([
        ["# Guardia Workflow Suite (GWS) Administrator Guide",
         "Huayin Imaging - Guardia secure printing product line",
         "1. Overview",
         "GWS (Guardia Workflow Suite) is the software suite of the Guardia secure printing line.",
         "It provides badge-based secure release of print jobs and scan-to-archive.",
         "This guide is for IT administrators who install and operate GWS."],
        ["# 2. Badge-based secure release",
         "A user sends a job to the GWS queue; the job is held on the server.",
         "The job is released only when the user taps an employee badge at the printer.",
         "Held jobs are deleted automatically after 24 hours if not released.",
         "Administrators register badges in the GWS console under Users > Badges."],
        ["# 3. Scan-to-archive",
         "Scan-to-archive stores scanned documents in the company archive with the user's name,",
         "time and device. Administrators configure archive folders under Workflows > Archive.",
         "Troubleshooting: if a badge is not recognised, re-register it and check the reader cable.",
         "Support: contact the IT service desk (tel 021-5555-0100, Shanghai HQ)."],
    ], path, "GWS Administrator Guide")


# -- PPTX: Springlake SL-500 training (en + zh, speaker notes) ------------------------------
def make_sl500_pptx(path: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    prs.core_properties.title = "Springlake SL-500 Product Training"
    slides = [
        ("Springlake SL-500 Product Training", "Springlake 产品培训 — SMB colour laser printer",
         "Welcome. This training covers the SL-500 specifications and selling points."),
        ("Key specifications 主要参数", "Print speed: 40 pages/min (每分钟40页)\nToner cartridge yield: 6,000 pages (硒鼓寿命6000页)",
         "Stress that the 6,000-page toner yield lowers cost per page for SMB customers."),
        ("Target customers 目标客户", "Small and medium businesses; MPS contracts billed per page",
         "讲解要点：SL-500 适合按页计费的 MPS 合同。"),
        ("Launch 发布", "Launched at AIP (All in Print, 全印展)\nNext show: Shanghai, 2026-11, booth E3-101",
         "Invite key customers to booth E3-101 at the Shanghai AIP show."),
    ]
    for i, (title, body, notes) in enumerate(slides):
        s = prs.slides.add_slide(prs.slide_layouts[1])
        s.shapes.title.text = title
        s.placeholders[1].text = body
        s.notes_slide.notes_text_frame.text = notes
        if i == 1:
            rows = [("Item 项目", "SL-500"), ("Speed 速度", "40 ppm"), ("Toner yield 硒鼓寿命", "6,000 pages")]
            tbl = s.shapes.add_table(3, 2, Inches(1), Inches(4.5), Inches(6), Inches(1.2)).table
            for r, (a, b) in enumerate(rows):
                tbl.cell(r, 0).text, tbl.cell(r, 1).text = a, b
    prs.save(path)


# -- XLSX: AIP 2026 show plan (merged header cells) -----------------------------------------
def make_aip_xlsx(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "AIP 2026"
    ws["A1"] = "全印展（AIP）2026 参展计划"
    ws.merge_cells("A1:D1")
    ws.append(["事项", "负责部门", "日期", "备注"])
    for row in [["展位搭建", "市场部", "2026-11-02", "上海，展位 E3-101"],
                ["Springlake SL-500 新品发布", "产品部", "2026-11-03", "40页/分钟，硒鼓6000页"],
                ["客户邀约", "销售部（AM）", "2026-10-15", "重点客户名单由各 AM 提交"],
                ["GWS 安全打印演示", "Guardia 产品线", "2026-11-04", "工卡释放打印"]]:
        ws.append(row)
    wb.properties.title = "AIP 2026 参展计划"
    wb.save(path)


# -- Markdown / text -------------------------------------------------------------------------
EXPENSE_MD = """# 费用报销制度

本制度适用于华印影像全体员工。

## 报销时限

员工应在费用发生之日起 30 天内，在 OA 系统中提交报销申请，逾期不予受理。

## 差旅住宿标准

- 一线城市（北京、上海、广州、深圳）：每晚不超过 600 元人民币；
- 其他城市：每晚不超过 400 元人民币。

超标部分由员工自行承担，特殊情况需部门负责人审批。

## 审批流程

报销申请由直属经理审批后，财务部审核付款。
"""

OFFICES_TXT = """华印影像 办公地址 / Huayin Imaging offices

上海总部 Shanghai HQ: 世纪大道1000号 8楼 (8F, 1000 Century Ave), 电话 021-5555-0100
北京办事处 Beijing: 建国路88号 12楼 (12F, 88 Jianguo Rd), 电话 010-5555-0200
深圳办事处 Shenzhen: 科苑路66号 6楼 (6F, 66 Keyuan Rd), 电话 0755-5555-0300
"""

FLOOR_MD = """# Springlake SL-500 底价政策（仅限财务）

## 底价

Springlake SL-500 的底价（floor price）为标价（list price）的 82%。

## 审批

实际成交价（AAP）低于底价时，须经 CFO 审批。
"""


# -- Images: a scanned page -------------------------------------------------------------------
def render_lines(lines: list[str], size=(900, 360), font_size=34):
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(cjk_font_path(), font_size)
    y = 30
    for line in lines:
        draw.text((40, y), line, fill="black", font=font)
        y += int(font_size * 1.6)
    return img


def make_scan_png(path: Path) -> None:
    img = render_lines(["MPS 服务等级协议（SLA）", "一线城市客户：4小时内现场响应", "其他地区：下一个工作日"])
    img = img.convert("L")  # a grey "scan"
    img.save(path, optimize=True)


# -- Audio and video -------------------------------------------------------------------------
def make_wav(path: Path, seconds: float = 3.0, sr: int = 16000) -> None:
    t = np.arange(int(sr * seconds)) / sr
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    tone[int(sr * 1.0):int(sr * 1.6)] = 0.0  # a pause to split on
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes((tone * 32767).astype("<i2").tobytes())


def make_mp4(path: Path) -> None:
    import cv2

    w, h, fps = 640, 360, 2
    slide1 = np.array(render_lines(["Springlake SL-500", "40 pages/min"], size=(w, h), font_size=40))[:, :, ::-1]
    slide2 = np.array(render_lines(["硒鼓寿命 6000 页"], size=(w, h), font_size=40))[:, :, ::-1]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for frame in [slide1] * 4 + [slide2] * 4:  # 2 s + 2 s
        out.write(np.ascontiguousarray(frame))
    out.release()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("processes", "hr", "policies", "products", "events", "scans", "training", "finance", "company"):
        (out / sub).mkdir(exist_ok=True)
    make_after_sales_docx(out / "processes" / "after_sales_process.docx")
    make_ess_notice_pdf(out / "hr" / "ess_training_notice.pdf")
    make_gws_guide_pdf(out / "products" / "gws_admin_guide.pdf")
    make_sl500_pptx(out / "products" / "springlake_sl500_training.pptx")
    make_aip_xlsx(out / "events" / "aip_2026_plan.xlsx")
    (out / "policies" / "expense_policy.md").write_text(EXPENSE_MD, encoding="utf-8")
    (out / "company" / "offices.txt").write_text(OFFICES_TXT, encoding="utf-8")
    make_scan_png(out / "scans" / "mps_sla_scan.png")
    make_wav(out / "training" / "ess_training_intro.wav")
    make_mp4(out / "training" / "sl500_training_clip.mp4")
    (out / "finance" / "_access.yaml").write_text("# Only the finance group may see this folder.\ngroups: [finance]\n",
                                                  encoding="utf-8")
    (out / "finance" / "sl500_floor_price.md").write_text(FLOOR_MD, encoding="utf-8")
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"sample KB written to {out} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "sample_kb")

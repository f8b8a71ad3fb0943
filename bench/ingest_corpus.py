"""A generated mixed corpus for whole-ingestion benchmarks: PDF, DOCX and Markdown files in
Chinese and English, each section a different text (so no vector comes from the cache), of a
size a chunk of company prose has (a paragraph or two: ~90-140 estimated tokens).

    make_corpus(root, files=320)  ->  {"pdf": n, "docx": n, "md": n}
"""

from __future__ import annotations

from pathlib import Path

ZH = ["客户经理在二十四小时内联系客户，协调现场服务工程师上门，并跟踪退货授权流程。",
      "员工应在费用发生之日起三十天内在OA系统中提交报销申请，超过期限需部门负责人审批。",
      "一线城市的MPS客户享受四小时上门服务，其他城市为下一个工作日。",
      "全印展期间，展位搭建由市场部负责，销售部负责邀请重点客户参观新品发布。",
      "硒鼓寿命约为六千页，建议在打印量较大的办公室配备备用硒鼓。",
      "扫描归档功能会记录用户姓名、时间和设备编号，便于审计追踪。"]
EN = ["Guardia Workflow Suite holds print jobs on the server until the user taps a badge at the printer.",
      "Held jobs are deleted after twenty-four hours; administrators change this under Users and Badges.",
      "The service desk answers from eight to eight on workdays and escalates outages to the on-call engineer.",
      "Scan-to-archive stores every document with the user's name, the time and the device that scanned it.",
      "Account managers follow up on satisfaction within three working days after a case is closed.",
      "The SL-500 prints forty pages a minute and its toner lasts about six thousand pages."]


def _paragraph(kind: int, f: int, s: int) -> str:
    zh = (f + s) % 2 == 0
    pool = ZH if zh else EN
    body = " ".join(pool[(f * 7 + s * 3 + k) % len(pool)] for k in range(3 + (f + s) % 2))
    return (f"第{f}号文件第{s}节（{kind}）：" if zh else f"File {f}, section {s} ({kind}): ") + body


def _pdf(path: Path, f: int, pages: int) -> None:
    import pymupdf

    doc = pymupdf.open()
    for p in range(pages):
        page = doc.new_page()
        rect = pymupdf.Rect(60, 60, 540, 780)
        page.insert_textbox(rect, _paragraph(0, f, p), fontname="china-s", fontsize=11)
    doc.save(path)


def _docx(path: Path, f: int, sections: int) -> None:
    import docx

    d = docx.Document()
    d.add_heading(f"Manual {f} 手册", level=1)
    for s in range(sections):
        d.add_heading(f"Section {s} 第{s}节", level=2)
        d.add_paragraph(_paragraph(1, f, s))
    d.save(path)


def _md(path: Path, f: int, sections: int) -> None:
    parts = [f"# Notes {f} 笔记"]
    for s in range(sections):
        parts += [f"## Topic {s} 主题{s}", _paragraph(2, f, s)]
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")


def make_corpus(root: Path, files: int = 320, sections: int = 10) -> dict[str, int]:
    """``files`` files, a third of each kind, ``sections`` pages or headings each."""
    counts = {"pdf": 0, "docx": 0, "md": 0}
    for f in range(files):
        kind = ("pdf", "docx", "md")[f % 3]
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{kind}_{f:04d}.{kind}"
        {"pdf": _pdf, "docx": _docx, "md": _md}[kind](path, f, sections)
        counts[kind] += 1
    return counts

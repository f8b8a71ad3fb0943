"""DOCX (python-docx): paragraphs under their heading path, tables as text tables, in body
order. Numbered and bulleted list items keep a visible marker. Locator: heading path."""

from __future__ import annotations

import re
from pathlib import Path

from kb_agent.chunk import Locator
from kb_agent.errors import ParseError
from kb_agent.ingest.model import ParsedDoc, ParseOptions, Section

_HEADING = re.compile(r"^(?:heading|标题)\s*(\d)$", re.I)


def heading_level(paragraph) -> int | None:
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    if name.lower() == "title":
        return 0
    m = _HEADING.match(name.strip())
    if m:
        return int(m.group(1))
    ppr = paragraph._p.pPr
    lvl = ppr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}outlineLvl") if ppr is not None else None
    if lvl is not None:
        try:
            return int(lvl.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val")) + 1
        except (TypeError, ValueError):
            return None
    return None


def table_text(rows: list[list[str]]) -> str:
    lines = []
    for row in rows:
        cells: list[str] = []
        for c in row:
            c = " ".join(c.split())
            if not cells or c != cells[-1]:  # merged cells repeat their text
                cells.append(c)
        if any(cells):
            lines.append(" | ".join(cells))
    return "\n".join(lines)


class DocxParser:
    suffixes = (".docx",)

    def parse(self, path: Path, options: ParseOptions) -> ParsedDoc:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        try:
            d = docx.Document(str(path))
        except Exception as exc:  # noqa: BLE001 - python-docx raises KeyError/ValueError/lxml errors
            raise ParseError(str(path), f"corrupt Word file ({type(exc).__name__}: {exc})"[:300]) from exc
        out = ParsedDoc(title=(d.core_properties.title or "").strip())
        stack: list[tuple[int, str]] = []
        buf: list[str] = []
        counter = 0

        def flush():
            text = "\n".join(b for b in buf if b.strip())
            if text.strip():
                out.sections.append(Section(Locator.for_heading(*[h for _, h in stack]), text))
            buf.clear()

        for el in d.element.body.iterchildren():
            tag = el.tag.rsplit("}", 1)[-1]
            if tag == "p":
                p = Paragraph(el, d)
                text = p.text.strip()
                level = heading_level(p)
                if level is not None and text:
                    flush()
                    if level == 0 or (not out.title and level == 1 and not stack):
                        out.title = out.title or text
                    while stack and stack[-1][0] >= max(level, 1):
                        stack.pop()
                    stack.append((max(level, 1), text))
                    counter = 0
                    continue
                style = (p.style.name if p.style is not None else "") or ""
                if "List Number" in style:
                    counter += 1
                    text = f"{counter}. {text}" if text else text
                elif "List" in style and text:
                    text = f"- {text}"
                else:
                    counter = 0
                buf.append(text)
            elif tag == "tbl":
                t = Table(el, d)
                buf.append(table_text([[c.text for c in row.cells] for row in t.rows]))
        flush()
        if not out.sections:
            raise ParseError(str(path), "no text in document")
        return out

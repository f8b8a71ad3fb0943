"""PPTX (python-pptx): per slide its title, body text, tables and speaker notes, shapes in
reading order (top to bottom, left to right, into groups). Locator: 1-based slide number."""

from __future__ import annotations

from pathlib import Path

from kb_agent.chunk import Locator
from kb_agent.errors import ParseError
from kb_agent.ingest.model import ParsedDoc, ParseOptions, Section
from kb_agent.ingest.parsers.docx import table_text


def _shape_texts(shapes) -> list[str]:
    out = []
    ordered = sorted(shapes, key=lambda s: ((s.top or 0) // 50000, s.left or 0))
    for sh in ordered:
        if getattr(sh, "shape_type", None) == 6 or hasattr(sh, "shapes"):  # group
            out += _shape_texts(sh.shapes)
        elif getattr(sh, "has_table", False) and sh.has_table:
            out.append(table_text([[c.text for c in row.cells] for row in sh.table.rows]))
        elif getattr(sh, "has_text_frame", False) and sh.has_text_frame:
            t = "\n".join(p_text for p_text in (para_text(p) for p in sh.text_frame.paragraphs) if p_text)
            if t:
                out.append(t)
    return out


def para_text(p) -> str:
    return (p.text or "").strip()


class PptxParser:
    suffixes = (".pptx",)

    def parse(self, path: Path, options: ParseOptions) -> ParsedDoc:
        from pptx import Presentation

        try:
            prs = Presentation(str(path))
        except Exception as exc:  # noqa: BLE001
            raise ParseError(str(path), f"corrupt PowerPoint file ({type(exc).__name__}: {exc})"[:300]) from exc
        out = ParsedDoc(title=(prs.core_properties.title or "").strip())
        for i, slide in enumerate(prs.slides, start=1):
            title_shape = slide.shapes.title
            title = title_shape.text_frame.text.strip() if title_shape is not None and title_shape.has_text_frame else ""
            body = _shape_texts([s for s in slide.shapes if title_shape is None or s.shape_id != title_shape.shape_id])
            notes = ""
            if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
                notes = slide.notes_slide.notes_text_frame.text.strip()
            parts = [title] + body + ([f"Notes: {notes}"] if notes else [])
            text = "\n".join(p for p in parts if p)
            if text:
                out.sections.append(Section(Locator.for_slide(i), text))
            if i == 1 and not out.title and title:
                out.title = title
        if not out.sections:
            raise ParseError(str(path), "no text on any slide")
        return out

"""PPTX (python-pptx): per slide its title, body text, tables, charts (title, series,
category = value; see charts.py) and speaker notes, shapes in reading order (top to bottom,
left to right, into groups). Locator: 1-based slide number. A chart part that cannot be read
costs only that chart: the report says "slide 3: chart not read (XMLSyntaxError)"."""

from __future__ import annotations

from pathlib import Path

from kb_agent.chunk import Locator
from kb_agent.errors import ParseError
from kb_agent.ingest.model import ParsedDoc, ParseOptions, Section
from kb_agent.ingest.parsers.charts import STUBS, chart_rids, related_chart_text
from kb_agent.ingest.parsers.docx_text import table_text
from kb_agent.ingest.parsers.ooxml import stub_broken_parts

_ALTERNATE = "{http://schemas.openxmlformats.org/markup-compatibility/2006}AlternateContent"


def para_text(p) -> str:
    return (p.text or "").strip()


class _SlideReader:
    """The texts of one slide's shapes; what cannot be read goes to ``notes``."""

    def __init__(self, number: int, slide, broken: dict[str, tuple[str, str]], notes: list[str]):
        self.number, self.slide, self.broken, self.notes = number, slide, broken, notes

    def shapes(self, shapes) -> list[str]:
        out = []
        ordered = sorted(shapes, key=lambda s: ((s.top or 0) // 50000, s.left or 0))
        for sh in ordered:
            if getattr(sh, "shape_type", None) == 6 or hasattr(sh, "shapes"):  # group
                out += self.shapes(sh.shapes)
            elif getattr(sh, "has_chart", False) and sh.has_chart:
                out += self.charts(sh.element)
            elif getattr(sh, "has_table", False) and sh.has_table:
                out.append(table_text([[c.text for c in row.cells] for row in sh.table.rows]))
            elif getattr(sh, "has_text_frame", False) and sh.has_text_frame:
                t = "\n".join(p_text for p_text in (para_text(p) for p in sh.text_frame.paragraphs) if p_text)
                if t:
                    out.append(t)
        return out

    def alternate_charts(self) -> list[str]:
        """Charts python-pptx does not list as shapes: Office 2016 chartEx (waterfall, treemap,
        funnel...) sit in mc:AlternateContent with a picture as the fallback."""
        outermost = (ac for ac in self.slide.element.iter(_ALTERNATE)
                     if not any(a.tag == _ALTERNATE for a in ac.iterancestors()))
        return [t for ac in outermost for t in self.charts(ac)]

    def charts(self, element) -> list[str]:
        out = []
        for rid in chart_rids(element):
            try:
                part = self.slide.part.related_part(rid)
            except (KeyError, AttributeError):
                part = None
            try:
                text = related_chart_text(part, self.broken)
            except ParseError as exc:
                self.notes.append(f"slide {self.number}: {exc.reason}")
                continue
            if text:
                out.append(text)
        return out


def _open(path: Path):
    """(presentation, parts replaced): a deck python-pptx cannot open because a chart part is
    not XML opens with that chart emptied (ooxml.stub_broken_parts)."""
    from pptx import Presentation

    try:
        return Presentation(str(path)), {}
    except Exception as exc:  # noqa: BLE001 - python-pptx raises KeyError/ValueError/lxml errors
        error = exc
    stubbed = stub_broken_parts(path, STUBS)
    if stubbed.data is not None:
        try:
            return Presentation(stubbed.data), stubbed.replaced
        except Exception:  # noqa: BLE001 - broken beyond its charts
            pass
    raise ParseError(str(path), f"corrupt PowerPoint file ({type(error).__name__}: {error})"[:300]) from error


class PptxParser:
    suffixes = (".pptx",)

    def parse(self, path: Path, options: ParseOptions) -> ParsedDoc:
        prs, broken = _open(path)
        out = ParsedDoc(title=(prs.core_properties.title or "").strip())
        for i, slide in enumerate(prs.slides, start=1):
            title_shape = slide.shapes.title
            title = title_shape.text_frame.text.strip() if title_shape is not None and title_shape.has_text_frame else ""
            reader = _SlideReader(i, slide, broken, out.notes)
            body = reader.shapes([s for s in slide.shapes if title_shape is None or s.shape_id != title_shape.shape_id])
            body += reader.alternate_charts()
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
            lost = f" ({'; '.join(out.notes)})"[:300] if out.notes else ""
            raise ParseError(str(path), f"no text on any slide{lost}")
        return out

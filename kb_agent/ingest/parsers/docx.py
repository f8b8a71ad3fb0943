"""DOCX (python-docx): paragraphs under their heading path, tables as text tables, charts
(see charts.py), text boxes and foot-/endnotes where they are referenced, in body order;
hyperlinks keep their targets (docx_text.py). Numbered and bulleted list items keep a visible
marker. Locator: heading path. Page headers and footers are indexed once each however many
sections repeat them (locators ``header`` / ``footer``); comments with their author and the
text they are anchored to (locator ``comment``, the heading path at the anchor). A chart,
header, footer, comments or notes part that cannot be read costs only itself, with a note
("header not read (XMLSyntaxError)")."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from kb_agent.chunk import Locator
from kb_agent.errors import ParseError
from kb_agent.ingest.model import ParsedDoc, ParseOptions, Section
from kb_agent.ingest.parsers.charts import STUBS as CHART_STUBS, chart_rids, related_chart_text
from kb_agent.ingest.parsers.docx_text import (
    Marks,
    W,
    block_items,
    blocks_text,
    paragraph_text,
    table_rows,
    table_text,
    textbox_texts,
)
from kb_agent.ingest.parsers.ooxml import stub_broken_parts

log = logging.getLogger(__name__)
_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"

_HEADING = re.compile(r"^(?:heading|标题)\s*(\d)$", re.I)
_W_NS = W[1:-1]
#: Empty parts put in place of broken side parts so that python-docx opens the document.
STUBS = {**CHART_STUBS, **{kind: f'<w:{root} xmlns:w="{_W_NS}"/>'.encode() for kind, root in (
    ("header", "hdr"), ("footer", "ftr"), ("comments", "comments"), ("footnotes", "footnotes"),
    ("endnotes", "endnotes"))}}


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


class DocxParser:
    suffixes = (".docx",)

    def parse(self, path: Path, options: ParseOptions) -> ParsedDoc:
        d, broken = _open(path)
        out = ParsedDoc(title=(d.core_properties.title or "").strip())
        charts = _Charts(broken, out.notes)
        for kind, reason in sorted(set(broken.values())):
            if kind not in CHART_STUBS:  # a chart's note says where it was
                out.notes.append(f"{kind} not read ({reason})")
        marks = Marks()
        out.sections += _body(d, out, marks, charts)
        for what, read in (("headers and footers", _headers_footers), ("comments", _comments)):
            try:
                out.sections += read(d.part, marks, charts)
            except Exception as exc:  # noqa: BLE001 - a broken side part must not lose the body
                log.warning("%s: %s not read", path, what, exc_info=True)
                out.notes.append(f"{what} not read ({type(exc).__name__})")
        if not out.sections:
            lost = f" ({'; '.join(out.notes)})"[:300] if out.notes else ""
            raise ParseError(str(path), f"no text in document{lost}")
        return out


def _open(path: Path):
    """(document, parts replaced): a document python-docx cannot open because a header,
    footer, comments or chart part is not XML opens with that part emptied."""
    import docx

    try:
        return docx.Document(str(path)), {}
    except Exception as exc:  # noqa: BLE001 - python-docx raises KeyError/ValueError/lxml errors
        error = exc
    stubbed = stub_broken_parts(path, STUBS)
    if stubbed.data is not None:
        try:
            return docx.Document(stubbed.data), stubbed.replaced
        except Exception:  # noqa: BLE001 - broken beyond its side parts
            pass
    raise ParseError(str(path), f"corrupt Word file ({type(error).__name__}: {error})"[:300]) from error


def _body(d, out: ParsedDoc, marks: Marks, charts: "_Charts") -> list[Section]:
    from docx.text.paragraph import Paragraph

    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    buf: list[str] = []
    counter = 0
    notes = _NoteTexts(d.part, out.notes)

    def flush():
        text = "\n".join(b for b in buf if b.strip())
        if text.strip():
            sections.append(Section(Locator.for_heading(*[h for _, h in stack]), text))
        buf.clear()

    for el in block_items(d.element.body):
        marks.where = tuple(h for _, h in stack)
        seen_notes, seen_comments = len(marks.notes), set(marks.comment_where)
        if el.tag == f"{W}p":
            p = Paragraph(el, d)
            text = paragraph_text(el, d.part, marks)
            level = heading_level(p)
            if level is not None and text:
                flush()
                if level == 0 or (not out.title and level == 1 and not stack):
                    out.title = out.title or text
                while stack and stack[-1][0] >= max(level, 1):
                    stack.pop()
                stack.append((max(level, 1), text))
                for cid in set(marks.comment_where) - seen_comments:  # a comment on the heading itself
                    marks.comment_where[cid] = tuple(h for _, h in stack)
                counter = 0
            else:
                style = (p.style.name if p.style is not None else "") or ""
                if "List Number" in style:
                    counter += 1
                    text = f"{counter}. {text}" if text else text
                elif "List" in style and text:
                    text = f"- {text}"
                else:
                    counter = 0
                buf.append(text)
            buf += textbox_texts(el, d.part, marks)
        else:
            buf.append(table_text(table_rows(el, d.part, marks)))
        buf += charts.texts(el, d.part, f"under {' > '.join(marks.where)}" if marks.where else "")
        buf += notes.texts(marks.notes[seen_notes:], marks)
    flush()
    return sections


class _Charts:
    """The charts drawn in body elements, headers and footers; a chart that cannot be read is
    said in the report with where it stands."""

    def __init__(self, broken: dict[str, tuple[str, str]], notes: list[str]):
        self.broken, self.notes = broken, notes

    def texts(self, el, part, where: str) -> list[str]:
        """``where``: how a note says where the chart stands ("under Intro > Scope")."""
        out = []
        for rid in chart_rids(el):
            try:
                text = related_chart_text(part.related_parts.get(rid), self.broken)
            except ParseError as exc:
                at = f"chart {where}" if where else "chart"
                self.notes.append(f"{at} {exc.reason.removeprefix('chart ')}")
                continue
            if text:
                out.append(text)
        return out


class _NoteTexts:
    """Foot- and endnotes, numbered in the order the body refers to them."""

    def __init__(self, part, report: list[str]):
        self.notes: dict[str, dict[str, tuple]] = {}
        for kind in ("footnote", "endnote"):
            try:
                root, side = _side_part(part, kind + "s")
            except Exception as exc:  # noqa: BLE001 - a broken notes part must not lose the body
                log.warning("%ss not read", kind, exc_info=True)
                report.append(f"{kind}s not read ({type(exc).__name__})")
                root = side = None
            self.notes[kind] = {} if root is None else {
                (n.get(f"{W}id") or ""): (n, side) for n in root.iter(f"{W}{kind}")
                if n.get(f"{W}type") in (None, "normal")}  # not the separator lines
        self.counts = {"footnote": 0, "endnote": 0}

    def texts(self, refs: list[tuple[str, str]], marks: Marks) -> list[str]:
        out = []
        for kind, nid in refs:
            found = self.notes.get(kind, {}).get(nid)
            if found is None:
                continue
            self.counts[kind] += 1
            note, part = found
            text = blocks_text(note, part, marks).replace("\n", " ").strip()
            if text:
                out.append(f"{kind.capitalize()} {self.counts[kind]}: {text}")
        return out


def _side_part(part, reltype: str):
    """(root element, part) of the document's comments/footnotes/endnotes part, or (None, None);
    the part resolves the hyperlinks inside it."""
    for rel in part.rels.values():
        if rel.reltype == _RT + reltype and not rel.is_external:
            target = rel.target_part
            element = getattr(target, "element", None)
            if element is None:  # python-docx has no class for this part: parse its XML
                from docx.oxml.parser import parse_xml

                element = parse_xml(target.blob)
            return element, target
    return None, None


def _headers_footers(part, marks: Marks, charts: _Charts) -> list[Section]:
    """Each distinct header and footer once, in the order the sections refer to them."""
    out: list[Section] = []
    seen_parts: set[int] = set()
    seen_text: set[tuple[str, str]] = set()
    for sect in part.element.body.iter(f"{W}sectPr"):
        for ref in sect:
            kind = {f"{W}headerReference": "header", f"{W}footerReference": "footer"}.get(ref.tag)
            target = part.related_parts.get(ref.get(_R_ID) or "") if kind else None
            if target is None or id(target) in seen_parts:
                continue
            seen_parts.add(id(target))
            text = "\n".join([blocks_text(target.element, target, Marks())]
                              + charts.texts(target.element, target, f"in the {kind}")).strip()
            key = (kind, " ".join(text.split()))
            if key[1] and key not in seen_text:
                seen_text.add(key)
                out.append(Section(Locator(kind=kind), text))
    return out


def _comments(part, marks: Marks, charts: _Charts) -> list[Section]:
    root, side = _side_part(part, "comments")
    if root is None:
        return []
    out = []
    for c in root.iter(f"{W}comment"):
        cid = c.get(f"{W}id") or ""
        text = blocks_text(c, side, Marks())
        if not text:
            continue
        author = (c.get(f"{W}author") or "").strip()
        anchor = marks.anchor_text(cid)
        head = "Comment" + (f" by {author}" if author else "") + (f" on “{anchor}”" if anchor else "")
        out.append(Section(Locator.for_comment(*marks.comment_where.get(cid, ())), f"{head}: {text}"))
    return out

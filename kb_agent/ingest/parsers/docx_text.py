"""The text of WordprocessingML paragraphs and tables as a reader sees it, for the body,
headers, footers, comments and notes alike.

python-docx's ``Paragraph.text`` drops what a reader sees besides plain runs: hyperlink
targets, simple fields (``w:fldSimple``), tracked insertions, content controls, equations
and text boxes. Here a hyperlink keeps its target, ``text (https://...)`` (a link inside the
document, such as a table of contents entry, keeps only its text), page-number fields are
dropped (their cached value is one page's number), deleted text stays out, and the anchors of
comments and the references of foot- and endnotes are collected for the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"

#: Wrappers whose content is read as if they were not there.
_TRANSPARENT = {"ins", "smartTag", "customXml", "sdt", "sdtContent", "moveTo", "dir", "bdo"}
#: Fields whose cached result is not content (the number of one page).
_PAGE_FIELDS = {"PAGE", "NUMPAGES", "SECTIONPAGES", "PAGEREF"}
#: Characters of a comment's anchored text kept for its chunk.
ANCHOR_CHARS = 200


@dataclass
class Marks:
    """What walking paragraphs finds besides their text: comment anchors (id -> the heading
    path at the anchor and the anchored text) and foot-/endnote references in order."""

    where: tuple[str, ...] = ()
    comment_where: dict[str, tuple[str, ...]] = field(default_factory=dict)
    comment_anchor: dict[str, list[str]] = field(default_factory=dict)
    open_comments: set[str] = field(default_factory=set)
    notes: list[tuple[str, str]] = field(default_factory=list)  # ("footnote" | "endnote", id)

    def comment_start(self, cid: str) -> None:
        self.comment_where.setdefault(cid, self.where)
        self.comment_anchor.setdefault(cid, [])
        self.open_comments.add(cid)

    def text(self, piece: str) -> None:
        for cid in self.open_comments:
            if sum(map(len, self.comment_anchor[cid])) < ANCHOR_CHARS:
                self.comment_anchor[cid].append(piece)

    def anchor_text(self, cid: str) -> str:
        text = " ".join("".join(self.comment_anchor.get(cid, ())).split())
        return text if len(text) <= ANCHOR_CHARS else text[:ANCHOR_CHARS - 1] + "…"


def link(text: str, url: str) -> str:
    """``text (url)``, or one of them when the other is missing or says the same."""
    text = text.strip()
    if not url:
        return text
    if not text:
        return url

    def bare(s: str) -> str:
        return re.sub(r"^(?:https?://|mailto:)", "", s.strip().lower()).rstrip("/")
    return text if bare(text) == bare(url) else f"{text} ({url})"


def paragraph_text(p, part, marks: Marks | None = None) -> str:
    """One paragraph (``w:p`` element): runs, hyperlinks with targets, fields, equations."""
    return _Walker(part, marks).paragraph(p)


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


def blocks_text(container, part, marks: Marks | None = None) -> str:
    """Paragraphs and tables of a container (header, footer, comment, note, table cell,
    text box) as lines; tables as ``a | b`` rows."""
    lines = []
    for el in block_items(container):
        if el.tag == f"{W}p":
            lines.append(paragraph_text(el, part, marks))
            lines += textbox_texts(el, part, marks)
        else:
            lines.append(table_text(table_rows(el, part, marks)))
    return "\n".join(line for line in lines if line.strip())


def block_items(container):
    """``w:p`` and ``w:tbl`` children in order, through block-level content controls."""
    return _through_controls(container, (f"{W}p", f"{W}tbl"))


def _through_controls(el, tags: tuple[str, ...]):
    for child in el.iterchildren():
        if child.tag in tags:
            yield child
        elif child.tag in (f"{W}sdt", f"{W}sdtContent", f"{W}customXml"):
            yield from _through_controls(child, tags)


def table_rows(tbl, part, marks: Marks | None = None) -> list[list[str]]:
    """Cell texts per row, one per grid column: a cell spanning columns repeats, and so does
    a vertically merged cell in the rows below it (``table_text`` says a repeat once)."""
    rows = []
    above: dict[int, str] = {}  # grid column -> text of the vertical span that starts there
    for tr in _through_controls(tbl, (f"{W}tr",)):
        cells: list[str] = []
        for tc in _through_controls(tr, (f"{W}tc",)):
            col = len(cells)
            span = tc.find(f"{W}tcPr/{W}gridSpan")
            merge = tc.find(f"{W}tcPr/{W}vMerge")
            if merge is not None and merge.get(f"{W}val") in (None, "continue"):
                text = above.get(col, "")
            else:
                text = above[col] = blocks_text(tc, part, marks).replace("\n", " ")
            cells += [text] * max(1, _int(span.get(f"{W}val")) if span is not None else 1)
        rows.append(cells)
    return rows


def textbox_texts(p, part, marks: Marks | None = None) -> list[str]:
    """The text boxes drawn in a paragraph (its fallback copy for old Word skipped)."""
    out = []
    for box in p.iter(f"{W}txbxContent"):
        if any(a.tag in (MC_FALLBACK, f"{W}txbxContent") for a in box.iterancestors()):
            continue
        text = blocks_text(box, part, marks)
        if text:
            out.append(text)
    return out


def _int(v) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 1


class _Walker:
    def __init__(self, part, marks: Marks | None):
        self.part = part
        self.marks = marks
        self.fields: list[dict] = []  # complex fields open in this paragraph

    def paragraph(self, p) -> str:
        out: list[str] = []
        self._children(p, out)
        return "".join(out).strip()

    def _emit(self, out: list[str], text: str) -> None:
        if self._put(out, text) and self.marks is not None:
            self.marks.text(text)

    def _put(self, out: list[str], text: str) -> bool:
        """Append unless a field hides it; a wrapped link's text was recorded as it was read."""
        if not text or any(not f["result"] or f["name"] in _PAGE_FIELDS for f in self.fields):
            return False  # a field's instruction, or a page number
        out.append(text)
        return True

    def _children(self, el, out: list[str]) -> None:
        for child in el:
            tag = child.tag.rsplit("}", 1)[-1] if isinstance(child.tag, str) else ""
            if child.tag == f"{W}r":
                self._run(child, out)
            elif child.tag == f"{W}hyperlink":
                inner: list[str] = []
                self._children(child, inner)
                self._put(out, link("".join(inner), self._url(child)))
            elif child.tag == f"{W}fldSimple":
                inner = []
                self._children(child, inner)
                name, url = _field(child.get(f"{W}instr") or "")
                if name not in _PAGE_FIELDS:
                    self._put(out, link("".join(inner), url))
            elif tag in _TRANSPARENT and child.tag.startswith(W):
                self._children(child, out)
            elif child.tag in (f"{M}oMath", f"{M}oMathPara"):
                self._emit(out, "".join(t.text or "" for t in child.iter(f"{M}t")))
            elif child.tag == f"{W}commentRangeStart" and self.marks is not None:
                self.marks.comment_start(child.get(f"{W}id") or "")
            elif child.tag == f"{W}commentRangeEnd" and self.marks is not None:
                self.marks.open_comments.discard(child.get(f"{W}id") or "")
            # w:del, w:moveFrom (deleted text), bookmarks, proofing marks: nothing to read

    def _run(self, r, out: list[str]) -> None:
        for c in r:
            tag = c.tag
            if tag == f"{W}t":
                self._emit(out, c.text or "")
            elif tag in (f"{W}tab", f"{W}ptab"):
                self._emit(out, "\t")
            elif tag == f"{W}br":
                if c.get(f"{W}type") in (None, "textWrapping"):
                    self._emit(out, "\n")
            elif tag == f"{W}cr":
                self._emit(out, "\n")
            elif tag == f"{W}noBreakHyphen":
                self._emit(out, "-")
            elif tag == f"{W}fldChar":
                self._fld_char(c.get(f"{W}fldCharType"), out)
            elif tag == f"{W}instrText" and self.fields and not self.fields[-1]["result"]:
                self.fields[-1]["instr"] += c.text or ""
            elif tag == f"{W}commentReference" and self.marks is not None:
                cid = c.get(f"{W}id") or ""
                self.marks.comment_where.setdefault(cid, self.marks.where)
            elif tag in (f"{W}footnoteReference", f"{W}endnoteReference") and self.marks is not None:
                self.marks.notes.append((tag[len(W):-len("Reference")], c.get(f"{W}id") or ""))

    def _fld_char(self, kind: str | None, out: list[str]) -> None:
        if kind == "begin":
            self.fields.append({"instr": "", "result": False, "name": "", "url": "", "start": len(out)})
        elif kind == "separate" and self.fields:
            f = self.fields[-1]
            f["name"], f["url"] = _field(f["instr"])
            f["result"] = True
        elif kind == "end" and self.fields:
            f = self.fields.pop()
            if f["url"]:
                shown = "".join(out[f["start"]:])
                del out[f["start"]:]
                self._put(out, link(shown, f["url"]))

    def _url(self, hyperlink) -> str:
        rid = hyperlink.get(R_ID)
        url = ""
        if rid:
            rel = self.part.rels.get(rid) if self.part is not None else None
            if rel is not None and rel.is_external:
                url = rel.target_ref
        anchor = hyperlink.get(f"{W}anchor")
        return f"{url}#{anchor}" if url and anchor else url  # a bookmark alone stays in the document


def _field(instr: str) -> tuple[str, str]:
    """A field instruction's name and, for HYPERLINK to an address, its target."""
    tokens = [a or b for a, b in re.findall(r'"([^"]*)"|(\S+)', instr)]
    if not tokens:
        return "", ""
    name = tokens[0].upper()
    if name != "HYPERLINK":
        return name, ""
    args = iter(tokens[1:])
    for tok in args:
        if tok.lower() in ("\\l", "\\o", "\\t"):
            next(args, None)  # a switch's argument: a bookmark, a tooltip, a frame
            continue
        if not tok.startswith("\\"):
            return name, tok
    return name, ""

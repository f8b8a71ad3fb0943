"""PDF: PyMuPDF text per page in reading order, tables as text where PyMuPDF finds them;
pdfminer.six where PyMuPDF cannot open the file or yields garbage; OCR for pages without a
usable text layer that show an image or drawing to read, after every page's text was read,
within ``ingest.ocr_page_timeout_s`` per page and ``ingest.ocr_file_budget_s`` per file (the
pages left are named in a note). Locator: 1-based page number."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from kb_agent.chunk import Locator
from kb_agent.errors import OcrTimeout, ParseError
from kb_agent.ingest.model import ParsedDoc, ParseOptions, Section

log = logging.getLogger(__name__)
#: A page without text is OCRed when images drawn on it cover this share of it (a scan, a
#: screenshot), or when vector drawings of at least MIN_DRAWING_ITEMS path items cover
#: MIN_DRAWING_SHARE (outlined text). Rules, frames and small logos are not worth a page of OCR.
MIN_IMAGE_SHARE = 0.03
MIN_DRAWING_ITEMS = 50
MIN_DRAWING_SHARE = 0.10
_BAD = re.compile(r"[\ufffd\ue000-\uf8ff\x00-\x08\x0b\x0c\x0e-\x1f]")


def is_garbage(text: str) -> bool:
    t = re.sub(r"\s", "", text)
    return bool(t) and len(_BAD.findall(t)) / len(t) > 0.3


class PdfParser:
    suffixes = (".pdf",)

    def parse(self, path: Path, options: ParseOptions) -> ParsedDoc:
        import pymupdf

        try:
            doc = pymupdf.open(path)
        except Exception as exc:  # noqa: BLE001 - PyMuPDF raises several types for broken files
            log.info("%s: PyMuPDF cannot open (%s); trying pdfminer", path, exc)
            return _pdfminer(path, options, f"PyMuPDF: {type(exc).__name__}")
        with doc:
            if doc.needs_pass:
                raise ParseError(str(path), "encrypted (password-protected PDF)")
            if doc.page_count == 0:
                raise ParseError(str(path), "PDF has no pages (corrupt or truncated)")
            out = ParsedDoc(title=(doc.metadata or {}).get("title", "").strip())
            n = min(doc.page_count, options.max_pages)
            if doc.page_count > n:
                out.notes.append(f"only the first {n} of {doc.page_count} pages parsed (ingest.max_pages)")
            garbage = 0
            texts: dict[int, str] = {}
            to_ocr: list[int] = []  # 0-based pages without a text layer that show something to read
            no_text: list[int] = []
            for i in range(n):
                try:
                    page = doc.load_page(i)
                    text, drawings = _page_text(page)
                    if is_garbage(text):
                        garbage += 1
                        text = ""
                    scan = len(re.sub(r"\s", "", text)) < options.ocr_min_chars and ocr_reason(page, drawings)
                except Exception as exc:  # noqa: BLE001
                    out.notes.append(f"page {i + 1}: unreadable ({type(exc).__name__})")
                    continue
                texts[i] = text
                if scan:
                    (to_ocr if options.ocr else no_text).append(i)
            ocr_notes = _ocr_pages(doc, to_ocr, texts, options) if to_ocr else []
            out.notes += ocr_notes
            out.sections = [Section(Locator.for_page(i + 1), t) for i, t in sorted(texts.items()) if t.strip()]
            if garbage and garbage >= max(1, n // 2):
                alt = _pdfminer(path, options, "")
                if sum(len(s.text) for s in alt.sections) > sum(len(s.text) for s in out.sections):
                    alt.title = alt.title or out.title
                    alt.notes = out.notes + ["PyMuPDF text was garbled; pdfminer.six used"]
                    out = alt
            if no_text:
                out.notes.append(f"pages without a text layer not OCRed (ingest.ocr off): "
                                 f"{_ranges([i + 1 for i in no_text])}")
            if not out.sections:
                raise ParseError(str(path), "; ".join(["no extractable text (empty or image-only PDF)"]
                                                      + ([] if options.ocr else ["OCR is off"]) + ocr_notes))
            return out


def ocr_reason(page, drawings: list[dict]) -> str | None:
    """Why a page without a usable text layer is worth OCR: "image" (images drawn on it cover
    at least MIN_IMAGE_SHARE of the page) or "drawing" (vector art, such as text converted to
    outlines); None for a blank page, rules, a frame, a small logo, or an image that sits in
    the page's resources without being drawn (``page.get_images()`` lists those too)."""
    import pymupdf

    area = abs(page.rect)
    if not area:
        return None
    shown = 0.0
    for info in page.get_image_info():
        r = pymupdf.Rect(info["bbox"]) & page.rect
        shown += 0.0 if r.is_empty else abs(r)
    if shown >= MIN_IMAGE_SHARE * area:
        return "image"
    if sum(len(d.get("items") or ()) for d in drawings) >= MIN_DRAWING_ITEMS:
        box = pymupdf.Rect()
        for d in drawings:
            box |= pymupdf.Rect(d["rect"]) & page.rect
        if abs(box) >= MIN_DRAWING_SHARE * area:
            return "drawing"
    return None


def _ocr_pages(doc, pages: list[int], texts: dict[int, str], options: ParseOptions) -> list[str]:
    """OCR ``pages`` (0-based) into ``texts``, in order, within the file's OCR budget; notes
    name the pages left and why. Nothing here fails the file: its text pages are kept."""
    notes: list[str] = []
    unreadable: dict[int, str] = {}  # page -> the engine's error
    spent, left, why = 0.0, [], ""
    for k, i in enumerate(pages):
        if spent >= options.ocr_file_budget_s:
            left, why = pages[k:], (f"the OCR budget of {options.ocr_file_budget_s:g} s for this file was "
                                    "spent (ingest.ocr_file_budget_s)")
            break
        t0 = time.perf_counter()
        try:
            texts[i] = _ocr_page(doc.load_page(i), options.ocr_page_timeout_s) or texts[i]
        except OcrTimeout:
            left, why = pages[k:], (f"OCR of page {i + 1} took over {options.ocr_page_timeout_s:g} s "
                                    "(ingest.ocr_page_timeout_s); OCR stopped for this file")
            break
        except ParseError as exc:  # no OCR engine in this installation
            left, why = pages[k:], exc.reason
            break
        except Exception as exc:  # noqa: BLE001 - one page the engine cannot read
            log.debug("OCR failed on page %d", i + 1, exc_info=True)
            unreadable[i + 1] = type(exc).__name__
        finally:
            spent += time.perf_counter() - t0
    if unreadable:
        errors = ", ".join(sorted(set(unreadable.values())))
        notes.append(f"{_pages_label(list(unreadable))} not OCRed: the OCR engine failed ({errors})")
    if left:
        notes.append(f"{_pages_label([p + 1 for p in left])} not OCRed: {why}")
    return notes


def _pages_label(nums: list[int]) -> str:
    return f"{'page' if len(nums) == 1 else 'pages'} {_ranges(nums)}"


def _page_text(page) -> tuple[str, list[dict]]:
    """The page's text in reading order, and its vector drawings."""
    tables, drawings = [], []
    try:
        drawings = page.get_drawings()
        if drawings:
            tables = list(page.find_tables().tables)
    except Exception:  # noqa: BLE001 - table detection is best effort
        tables = []
    boxes = [t.bbox for t in tables]
    parts: list[tuple[float, float, str]] = []
    # Blocks sorted top-to-bottom, left-to-right: reading order without the (slow, pure
    # Python) word-level sort of get_text("text", sort=True). Tables go where they stand.
    for b in page.get_text("blocks", sort=True):
        x0, y0, x1, y1, txt = b[:5]
        if b[6] != 0:  # an image block
            continue
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        if not any(bx0 <= cx <= bx1 and by0 <= cy <= by1 for bx0, by0, bx1, by1 in boxes):
            parts.append((y0, x0, txt.strip()))
    for t in tables:
        rows = t.extract()
        text = "\n".join(" | ".join((c or "").replace("\n", " ").strip() for c in row) for row in rows)
        parts.append((t.bbox[1], t.bbox[0], text))
    if tables:
        parts.sort(key=lambda p: (round(p[0]), p[1]))
    return "\n".join(p[2] for p in parts if p[2]), drawings


def _ocr_page(page, timeout_s: float | None = None) -> str:
    import numpy as np

    from kb_agent.ingest.ocr import ocr_lines

    pix = page.get_pixmap(dpi=200, colorspace="rgb", alpha=False)
    img = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3)[:, :, ::-1]
    return "\n".join(ocr_lines(img, timeout_s=timeout_s))


def _pdfminer(path: Path, options: ParseOptions, why: str) -> ParsedDoc:
    try:
        from pdfminer.high_level import extract_pages
        from pdfminer.layout import LTTextContainer
        from pdfminer.pdfdocument import PDFPasswordIncorrect
    except ImportError as exc:  # pragma: no cover - a base dependency
        raise ParseError(str(path), f"cannot open PDF ({why}) and pdfminer.six is missing") from exc
    out = ParsedDoc()
    try:
        for i, layout in enumerate(extract_pages(str(path), maxpages=options.max_pages)):
            text = "\n".join(el.get_text().strip() for el in layout if isinstance(el, LTTextContainer))
            if text.strip() and not is_garbage(text):
                out.sections.append(Section(Locator.for_page(i + 1), text))
    except PDFPasswordIncorrect as exc:
        raise ParseError(str(path), "encrypted (password-protected PDF)") from exc
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many types on broken files
        if not out.sections:
            reason = f"corrupt or truncated PDF ({why or type(exc).__name__})"
            raise ParseError(str(path), reason[:300]) from exc
        out.notes.append(f"PDF damaged after page {len(out.sections)}: {type(exc).__name__}")
    if not out.sections and why:
        raise ParseError(str(path), f"corrupt or truncated PDF ({why})"[:300])
    return out


def _ranges(nums: list[int]) -> str:
    out, start, prev = [], nums[0], nums[0]
    for n in nums[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(out)

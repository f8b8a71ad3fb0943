"""No document lost to a slow stage: OCR only pages that show something to read, within a
per-page timeout and a per-file budget, keeping every text page; OCR time does not count
against the parse timeout. Real PDFs generated with PyMuPDF, real rapidocr, real workers."""

from __future__ import annotations

import io

import pytest

from kb_agent.config import IngestSettings
from kb_agent.ingest.pipeline import Ingestor
from kb_agent.store.chunks import ChunkStore
from tests.ingest.helpers import HashEmbedder, render_text_image

IMAGE_PAGES = (100, 200, 300)


def _png(lines: list[str]) -> bytes:
    buf = io.BytesIO()
    render_text_image(lines).save(buf, format="PNG")
    return buf.getvalue()


def _book(path, pages: int = 400) -> dict[str, set[int]]:
    """A long born-digital book: text pages, blank pages, rule-only pages, pages that carry an
    image in their resources without drawing it (as shared resources do), and a few scans."""
    import pymupdf

    doc = pymupdf.open()
    kinds: dict[str, set[int]] = {"text": set(), "blank": set(), "rule": set(), "unused_image": set(),
                                  "image": set()}
    for n in range(1, pages + 1):
        page = doc.new_page()
        if n in IMAGE_PAGES:
            page.insert_image(pymupdf.Rect(36, 72, 576, 247), stream=_png([f"SCAN {n} page", "扫描页"]))
            kinds["image"].add(n)
        elif n % 10 == 5:
            kinds["blank"].add(n)
        elif n % 10 == 7 and n < 300:
            page.draw_line((72, 400), (540, 400))
            page.draw_rect(page.rect + (24, 24, -24, -24))  # a frame: its box covers the page
            page.insert_text((72, 60), "7", fontsize=9)  # a page number: below ocr_min_chars
            kinds["rule"].add(n)
        elif n % 10 == 7:
            kinds["unused_image"].add(n)  # empty; its resources get an image below
        else:
            page.insert_text((72, 72), f"第{n}页：售后流程要求客户经理在二十四小时内联系客户。Page {n} of the book.",
                             fontname="china-s", fontsize=11)
            kinds["text"].add(n)
    scan_xref = doc[IMAGE_PAGES[0] - 1].get_images()[0][0]
    for n in kinds["unused_image"]:  # referenced in the resources, never drawn
        doc.xref_set_key(doc[n - 1].xref, "Resources", f"<</XObject<</Im9 {scan_xref} 0 R>>>>")
    doc.save(path)
    return kinds


def _pages(store, source):
    return {c.locator.page: c.text for _, c in store.iter_chunks() if c.source == source}


def test_ocr_reason_tells_scans_from_blank_rule_and_unused_image_pages(tmp_path):
    import pymupdf

    from kb_agent.ingest.parsers.pdf import _page_text, ocr_reason

    kinds = _book(tmp_path / "book.pdf", pages=320)
    with pymupdf.open(tmp_path / "book.pdf") as doc:
        page = doc[307 - 1]
        assert page.get_images()  # what the old check looked at: it would have OCRed this page
        for kind, expected in (("blank", None), ("rule", None), ("unused_image", None), ("image", "image")):
            for n in sorted(kinds[kind])[:3]:
                page = doc[n - 1]
                assert ocr_reason(page, _page_text(page)[1]) == expected, (kind, n)
        outlined = doc.new_page()  # text drawn as vector outlines: many paths over the page
        for k in range(120):
            outlined.draw_rect(pymupdf.Rect(60 + (k % 20) * 24, 100 + (k // 20) * 40, 76 + (k % 20) * 24, 124 + (k // 20) * 40))
        assert ocr_reason(outlined, outlined.get_drawings()) == "drawing"


def test_a_400_page_book_keeps_its_text_when_the_ocr_budget_runs_out(tmp_path):
    root = tmp_path / "kb"
    root.mkdir()
    kinds = _book(root / "book.pdf")
    store = ChunkStore(tmp_path / "kb.sqlite3")
    settings = IngestSettings(workers=1, ocr_file_budget_s=0.01)  # spent by the first scan
    report = Ingestor(store, HashEmbedder(), settings).run([root])
    (line,) = report.files
    assert line.status == "ok"
    assert line.reason == ("pages 200, 300 not OCRed: the OCR budget of 0.01 s for this file was spent "
                           "(ingest.ocr_file_budget_s)")  # blank, rule-only and unused-image pages: not candidates
    pages = _pages(store, "book.pdf")
    assert set(pages) == kinds["text"] | kinds["rule"] | {100}  # a rule page keeps its page number
    assert "SCAN 100" in pages[100]
    assert line.stages["ocr"] > 0 and line.stages["parse"] > 0
    assert store.source("book.pdf").status == "ok" and store.integrity_problems() == []


def test_a_page_past_its_ocr_timeout_stops_ocr_for_the_file_and_retires_the_worker(tmp_path):
    import pymupdf

    root = tmp_path / "kb"
    root.mkdir()
    doc = pymupdf.open()
    for n in range(1, 5):
        page = doc.new_page()
        if n % 2 == 0:
            page.insert_image(pymupdf.Rect(36, 72, 576, 247), stream=_png([f"SCAN {n}"]))
        else:
            page.insert_text((72, 72), f"Text page {n}: the service desk answers on workdays.", fontsize=11)
    doc.save(root / "a_scan.pdf")
    render_text_image(["PHOTO 42 receipt"]).save(root / "b_photo.png")
    store = ChunkStore(tmp_path / "kb.sqlite3")
    report = Ingestor(store, HashEmbedder(), IngestSettings(workers=1, ocr_page_timeout_s=0.001)).run([root])
    got = {f.path: (f.status, f.reason) for f in report.files}
    assert got["a_scan.pdf"] == ("ok", "pages 2, 4 not OCRed: OCR of page 2 took over 0.001 s "
                                       "(ingest.ocr_page_timeout_s); OCR stopped for this file")
    assert set(_pages(store, "a_scan.pdf")) == {1, 3}
    # The worker whose OCR engine was left busy was replaced: the next file's OCR works.
    assert got["b_photo.png"] == ("ok", None)
    assert "PHOTO 42" in " ".join(c.text for _, c in store.iter_chunks() if c.source == "b_photo.png")


@pytest.mark.slow
def test_ocr_time_does_not_count_against_the_parse_timeout(tmp_path):
    """Four scanned pages take several seconds of OCR (engine start included); the parse
    timeout of 1 s guards the parser, not OCR, so the file is read whole."""
    import pymupdf

    root = tmp_path / "kb"
    root.mkdir()
    doc = pymupdf.open()
    for n in range(1, 5):
        doc.new_page().insert_image(pymupdf.Rect(36, 72, 576, 247), stream=_png([f"SCAN {n} page", "扫描页"]))
    doc.save(root / "scans.pdf")
    store = ChunkStore(tmp_path / "kb.sqlite3")
    report = Ingestor(store, HashEmbedder(), IngestSettings(workers=1, parse_timeout_s=1.0)).run([root])
    (line,) = report.files
    assert (line.status, line.reason) == ("ok", None)
    assert line.stages["ocr"] > 1.0  # so without the OCR credit the worker would have been killed
    pages = _pages(store, "scans.pdf")
    assert sorted(pages) == [1, 2, 3, 4] and all(f"SCAN {n}" in pages[n] for n in pages)


def test_ocr_that_fails_keeps_the_text_pages_and_names_the_pages_left(tmp_path, monkeypatch):
    """No OCR engine installed, or an engine error on one page: the text pages are indexed,
    the note says which pages were not OCRed and why; a scan-only PDF says why it has no text."""
    import pymupdf

    from kb_agent.errors import ParseError
    from kb_agent.ingest.model import ParseOptions
    from kb_agent.ingest.parsers import pdf

    doc = pymupdf.open()
    for n in range(1, 6):
        page = doc.new_page()
        if n in (2, 4):
            page.insert_image(pymupdf.Rect(36, 72, 576, 247), stream=_png([f"SCAN {n}"]))
        else:
            page.insert_text((72, 72), f"Text page {n}: the service desk answers on workdays.", fontsize=11)
    doc.save(tmp_path / "mixed.pdf")

    def unavailable(page, timeout_s=None):
        raise ParseError("", "OCR unavailable: pip install 'kb-agent[ocr]'")

    monkeypatch.setattr(pdf, "_ocr_page", unavailable)
    got = pdf.PdfParser().parse(tmp_path / "mixed.pdf", ParseOptions())
    assert [s.locator.page for s in got.sections] == [1, 3, 5]
    assert got.notes == ["pages 2, 4 not OCRed: OCR unavailable: pip install 'kb-agent[ocr]'"]

    calls = []

    def broken_on_page_2(page, timeout_s=None):
        calls.append(page.number + 1)
        if page.number == 1:
            raise RuntimeError("onnxruntime: bad input")
        return f"SCAN {page.number + 1}"

    monkeypatch.setattr(pdf, "_ocr_page", broken_on_page_2)
    got = pdf.PdfParser().parse(tmp_path / "mixed.pdf", ParseOptions())
    assert calls == [2, 4] and [s.locator.page for s in got.sections] == [1, 3, 4, 5]
    assert got.notes == ["page 2 not OCRed: the OCR engine failed (RuntimeError)"]

    scans = pymupdf.open()
    scans.new_page().insert_image(pymupdf.Rect(36, 72, 576, 247), stream=_png(["SCAN 1"]))
    scans.save(tmp_path / "scans.pdf")
    monkeypatch.setattr(pdf, "_ocr_page", unavailable)
    with pytest.raises(ParseError) as err:
        pdf.PdfParser().parse(tmp_path / "scans.pdf", ParseOptions())
    assert err.value.reason == ("no extractable text (empty or image-only PDF); page 1 not OCRed: "
                                "OCR unavailable: pip install 'kb-agent[ocr]'")

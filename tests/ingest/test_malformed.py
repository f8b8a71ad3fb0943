"""Bad input never stops the run: every malformed file ends in a correct report line and the
good files beside it are ingested. Real files, real worker processes, real store."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from kb_agent.config import IngestSettings
from kb_agent.ingest.pipeline import Ingestor
from kb_agent.store.chunks import ChunkStore
from tests.ingest import helpers
from tests.ingest.helpers import HashEmbedder


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _xls(path: Path) -> Path:
    import xlwt

    wb = xlwt.Workbook()
    ws = wb.add_sheet("Legacy")
    ws.write_merge(0, 0, 0, 1, "旧版报价表")
    for c, h in enumerate(["型号", "标价"]):
        ws.write(1, c, h)
    ws.write(2, 0, "SL-500")
    ws.write(2, 1, 3999)
    wb.save(str(path))
    return path


def _broken_xref_pdf(path: Path) -> Path:
    good = helpers.make_pdf(path, ["交叉引用表损坏 still readable"]).read_bytes()
    start = good.rindex(b"startxref")
    path.write_bytes(good[:start] + b"startxref\n999999\n%%EOF\n")  # xref offset points nowhere
    return path


@pytest.fixture
def messy(tmp_path) -> Path:
    d = tmp_path / "messy"
    d.mkdir()
    (d / "good.md").write_text("# 正常\n这个文件没问题。\n", encoding="utf-8")
    (d / "zero.pdf").write_bytes(b"")
    good_pdf = helpers.make_pdf(tmp_path / "src.pdf", ["第一页内容", "第二页内容"]).read_bytes()
    (d / "truncated.pdf").write_bytes(good_pdf[: len(good_pdf) // 3])
    (d / "random.pdf").write_bytes(os.urandom(4000))
    helpers.make_pdf(d / "locked.pdf", ["secret"], encrypt_password="pw")
    _broken_xref_pdf(d / "broken_xref.pdf")
    buf = io.BytesIO()
    helpers.render_text_image(["x"]).save(buf, format="PNG")
    (d / "image_named.pdf").write_bytes(buf.getvalue())
    (d / "text_named.docx").write_text("just text", encoding="utf-8")
    helpers.make_docx(d / "a_docx_named.pptx")
    (d / "encrypted.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(2000))
    _zip(d / "bomb_size.docx", {"[Content_Types].xml": b"<x/>", "word/document.xml": b"\0" * (30 * 2**20)})
    _zip(d / "bomb_ratio.xlsx", {"xl/workbook.xml": b"\0" * (12 * 2**20)})
    _zip(d / "corrupt.xlsx", {"[Content_Types].xml": b"<<<", "xl/workbook.xml": b"not xml"})
    (d / "big.txt").write_text("大" * 200000, encoding="utf-8")
    (d / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    os.mkfifo(d / "pipe.txt")
    _xls(d / "legacy.xls")
    helpers.make_pdf(d / "thousand_pages.pdf", [f"p{i}" for i in range(1, 1201)], fontname="helv")
    return d


def test_malformed_files_each_get_a_correct_report_line(tmp_path, messy):
    store = ChunkStore(tmp_path / "kb.sqlite3")
    settings = IngestSettings(workers=2, max_file_mb=0.5, max_unzipped_mb=20, max_pages=1000, parse_timeout_s=120)
    report = Ingestor(store, HashEmbedder(), settings).run([messy])
    got = {f.path: (f.status, f.reason or "") for f in report.files}
    expect = {
        "good.md": ("ok", ""),
        "zero.pdf": ("skipped", "empty file (0 bytes)"),
        "random.pdf": ("failed", "content does not match suffix .pdf (unrecognised content)"),
        "locked.pdf": ("failed", "encrypted (password-protected PDF)"),
        "image_named.pdf": ("failed", "content does not match suffix .pdf (looks like PNG)"),
        "text_named.docx": ("failed", "content does not match suffix .docx (unrecognised content)"),
        "a_docx_named.pptx": ("failed", "not a valid .pptx package (missing ppt/presentation.xml)"),
        "encrypted.xlsx": ("failed", "encrypted (password-protected Office file)"),
        "bomb_size.docx": ("failed", "archive expands to 30 MiB, over the 20 MiB cap (zip bomb?)"),
        "big.txt": ("skipped", "too large (0.6 MiB > ingest.max_file_mb 0.5)"),
        "old.doc": ("skipped", "old binary Word format (.doc) is not supported: save it as .docx"),
        "pipe.txt": ("skipped", "not a regular file"),
        "thousand_pages.pdf": ("ok", "only the first 1000 of 1200 pages parsed (ingest.max_pages)"),
    }
    for name, line in expect.items():
        assert got[name] == line, name
    assert got["bomb_ratio.xlsx"][0] == "failed" and got["bomb_ratio.xlsx"][1].startswith("compression ratio")
    assert got["corrupt.xlsx"][0] == "failed" and got["corrupt.xlsx"][1].startswith("corrupt Excel file")
    assert got["truncated.pdf"] == ("failed", "corrupt or truncated PDF (PyMuPDF: FileDataError)")
    assert got["broken_xref.pdf"] == ("ok", "")  # repaired on open
    assert got["legacy.xls"] == ("ok", "")
    assert len(got) == 18 and report.exit_code == 0
    texts = {c.source: c.text for _, c in store.iter_chunks()}
    assert "still readable" in texts["broken_xref.pdf"]
    assert texts["legacy.xls"] == "[旧版报价表] 型号: SL-500; 标价: 3999"
    pages = [c.locator.page for _, c in store.iter_chunks() if c.source == "thousand_pages.pdf"]
    assert pages == list(range(1, 1001))
    assert store.integrity_problems() == []


def test_timeout_kills_the_worker_and_the_run_goes_on(tmp_path):
    d = tmp_path / "slow"
    d.mkdir()
    helpers.make_pdf(d / "huge.pdf", [f"page {i}" for i in range(1, 4001)], fontname="helv")
    (d / "after.md").write_text("# 之后\n后面的文件照常处理。\n", encoding="utf-8")
    store = ChunkStore(tmp_path / "kb.sqlite3")
    report = Ingestor(store, HashEmbedder(), IngestSettings(workers=1, parse_timeout_s=0.5)).run([d])
    got = {f.path: (f.status, f.reason) for f in report.files}
    assert got == {"huge.pdf": ("failed", "timed out after 0.5 s"), "after.md": ("ok", None)}
    assert store.source("huge.pdf").status == "failed"


_UNREADABLE = textwrap.dedent("""
    import sys, json
    from pathlib import Path
    from kb_agent.config import IngestSettings
    from kb_agent.ingest.pipeline import Ingestor
    from kb_agent.store.chunks import ChunkStore
    from tests.ingest.helpers import HashEmbedder
    d = Path(sys.argv[1])
    rep = Ingestor(ChunkStore(d / "kb.sqlite3"), HashEmbedder(), IngestSettings(workers=1)).run([d / "docs"])
    print(json.dumps({f.path: [f.status, f.reason] for f in rep.files}))
""")


def _drop_file_capabilities() -> None:
    """Root ignores file permissions through CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH: drop both
    from the bounding set, so the exec'd child is bound by permissions like any user."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_unreadable_file_is_reported(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "secret.md").write_text("# x\nno access\n", encoding="utf-8")
    os.chmod(docs / "secret.md", 0o000)
    (docs / "open.md").write_text("# y\nreadable\n", encoding="utf-8")
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", _UNREADABLE, str(tmp_path)], capture_output=True, text=True,
                          cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)}, timeout=120,
                          preexec_fn=_drop_file_capabilities if os.geteuid() == 0 else None)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got == {"open.md": ["ok", None], "secret.md": ["failed", "permission denied"]}


def test_a_worker_that_dies_gives_parser_crashed_and_the_pool_recovers(tmp_path):
    """A segfault or an out-of-memory kill looks like this from the parent: the worker is gone."""
    import signal
    import threading

    from kb_agent.ingest.model import ParseOptions
    from kb_agent.ingest.worker import ParsePool

    # The worker blocks opening a FIFO nobody writes to, so it is surely mid-file when killed.
    big = tmp_path / "big.md"
    os.mkfifo(big)
    small = tmp_path / "small.md"
    small.write_text("# ok\nfine\n", encoding="utf-8")
    with ParsePool(1, 120) as pool:
        def kill_soon():
            import time as _t

            _t.sleep(1.0)
            os.kill(pool._workers[0].proc.pid, signal.SIGKILL)

        threading.Thread(target=kill_soon, daemon=True).start()
        got = dict(pool.run([("big", big, ParseOptions()), ("small", small, ParseOptions())]))
    assert got["big"].ok is False and got["big"].reason == "parser crashed (worker exit code -9)"
    assert got["small"].ok and got["small"].pieces[0].text == "fine"


_UNLISTED = textwrap.dedent("""
    import sys, json
    from pathlib import Path
    from kb_agent.config import IngestSettings
    from kb_agent.ingest.pipeline import Ingestor
    from kb_agent.store.chunks import ChunkStore
    from tests.ingest.helpers import HashEmbedder
    d = Path(sys.argv[1])
    store = ChunkStore(d / "kb.sqlite3")
    rep = Ingestor(store, HashEmbedder(), IngestSettings(workers=1)).run([d / "docs"])
    print(json.dumps({"files": {f.path: [f.status, f.reason] for f in rep.files}, "removed": rep.removed,
                      "sources": sorted(r.path for r in store.sources())}))
""")


def test_unreadable_folder_is_reported_and_its_files_kept(tmp_path):
    docs = tmp_path / "docs"
    (docs / "hr").mkdir(parents=True)
    (docs / "hr" / "ess.md").write_text("# ESS\n每月两次\n", encoding="utf-8")
    (docs / "top.md").write_text("# top\ntext\n", encoding="utf-8")
    store = ChunkStore(tmp_path / "kb.sqlite3")
    Ingestor(store, HashEmbedder(), IngestSettings(workers=1)).run([docs])
    store.close()
    os.chmod(docs / "hr", 0o000)
    try:
        repo = Path(__file__).resolve().parents[2]
        proc = subprocess.run([sys.executable, "-c", _UNLISTED, str(tmp_path)], capture_output=True, text=True,
                              cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)}, timeout=120,
                              preexec_fn=_drop_file_capabilities if os.geteuid() == 0 else None)
    finally:
        os.chmod(docs / "hr", 0o755)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["files"] == {"hr/": ["failed", "permission denied (folder not listed; its files are kept)"],
                            "top.md": ["unchanged", None]}
    assert out["removed"] == [] and out["sources"] == ["hr/ess.md", "top.md"]


def _prices_xlsx(path: Path, sheet_tail: bytes = b"", extra: dict[str, bytes] | None = None) -> Path:
    """A one-sheet workbook with ``sheet_tail`` before ``</worksheet>`` and ``extra`` parts."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Prices"
    ws.append(["型号", "标价"])
    ws.append(["SL-500", 3999])
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</worksheet>", sheet_tail + b"</worksheet>")
            out.writestr(item.filename, data)
        for name, data in (extra or {}).items():
            out.writestr(name, data)
    return path


def test_broken_drawing_costs_only_its_charts(tmp_path):
    """A broken drawing part makes openpyxl fail; the workbook opens in full with the drawing
    emptied (not in read-only mode, which cannot fill merged cells), and the report says its
    charts were not read."""
    import openpyxl

    from kb_agent.ingest.model import ParseOptions
    from kb_agent.ingest.parsers import parser_for

    path = _prices_xlsx(
        tmp_path / "drawing_broken.xlsx",
        b'<drawing r:id="rId1" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/>',
        {"xl/worksheets/_rels/sheet1.xml.rels":
            b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships/drawing" Target="../drawings/drawing1.xml"/></Relationships>',
         "xl/drawings/drawing1.xml": b"<not valid xml"})
    with pytest.raises(Exception):
        openpyxl.load_workbook(path)
    doc = parser_for(".xlsx").parse(path, ParseOptions())
    assert doc.notes == ["Prices: charts not read (XMLSyntaxError)"]
    assert [(s.locator.label(), s.text) for s in doc.sections] == [("Prices!A2:B2", "型号: SL-500; 标价: 3999")]


def test_workbook_that_only_opens_read_only(tmp_path):
    """A hyperlink with a broken cell reference makes openpyxl's normal mode fail; read-only
    mode skips hyperlinks."""
    import openpyxl

    from kb_agent.ingest.model import ParseOptions
    from kb_agent.ingest.parsers import parser_for

    path = _prices_xlsx(tmp_path / "link_broken.xlsx", b'<hyperlinks><hyperlink ref="A1:" display="x"/></hyperlinks>')
    with pytest.raises(Exception):
        openpyxl.load_workbook(path)
    doc = parser_for(".xlsx").parse(path, ParseOptions())
    assert doc.notes == ["opened in read-only mode (merged cells not filled)"]
    assert [(s.locator.label(), s.text) for s in doc.sections] == [("Prices!A2:B2", "型号: SL-500; 标价: 3999")]

"""Class 7: a hostile file share, ingested through the console's "Ingest folder" while alice
keeps asking.

The folder holds zero-byte, random and truncated files of every type; zip bombs (by ratio,
by size, by entry count); XML entity bombs in Word, Excel and PowerPoint parts; a PNG
decompression bomb; a PDF page of 200 × 200 inches that OCR would render; a PDF of thousands
of pages; text without whitespace (base64, minified code, unbroken Chinese, one endless
digit run, a CSV cell of a megabyte); odd names (not UTF-8, a newline, an RTL override, a
leading dash, 250 bytes, hidden, no suffix); a FIFO; a sparse file far over the size limit;
files rewritten, grown and deleted while the run reads them — and one ordinary file.

A failure: the run does not finish in its time budget, a file has no report line or the wrong
outcome, the ordinary file is not searchable, a chunk is over the chunker's size bound or a
file over its chunk cap, the store is inconsistent, a file that changed while read is indexed
with a manifest that describes other content (after a rerun, the index must hold the file's
final text), the rerun re-does work, the server stops answering (any error, or an answer
slower than the budget), memory goes past the budget. Console uploads are attacked too:
traversal names, empty and wrong-type files, and a file over the upload limit."""

from __future__ import annotations

import io
import os
import re
import struct
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from bench.adversarial.harness import PUBLIC_QUESTION, Env, Tally, percentile, write

NUMBER, NAME = 7, "hostile files"

CONTROL = "The Kestrel warehouse in Wuxi receives returned printers every Thursday morning."
ANSWER_BUDGET_S = 30.0        # an answer while the run goes on
MEMORY_BUDGET_GB = 4.0        # server process and its parser workers together
FAILED = {"failed"}
NOT_OK = {"failed", "skipped"}


@dataclass
class Expect:
    statuses: set[str]
    reason: str = ""           # a regular expression the reason must match (when set)


def _zip(path: Path, members: dict[str, bytes | tuple[int, bytes]], method=zipfile.ZIP_DEFLATED) -> Path:
    """Members are bytes, or (count, one block) for a member streamed as count × block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            if isinstance(data, tuple):
                count, block = data
                with zf.open(name, "w", force_zip64=True) as fh:
                    for _ in range(count):
                        fh.write(block)
            else:
                zf.writestr(name, data)
    return path


_CT = (b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       b'<Default Extension="xml" ContentType="application/xml"/></Types>')


def _laughs(root: str, ns: str, body: str) -> bytes:
    ents = ['<!ENTITY lol0 "lollollollollollollollollollol">']
    ents += [f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10)]
    return (f'<?xml version="1.0"?><!DOCTYPE {root} [{"".join(ents)}]>'
            f'<{root} xmlns="{ns}">{body}</{root}>').encode()


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _docx_from(base: bytes, replace: dict[str, bytes]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(base))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for item in src.infolist():
            zf.writestr(item.filename, replace.get(item.filename, src.read(item.filename)))
    return out.getvalue()


def _png_bomb(path: Path, side: int) -> Path:
    """A grey PNG of side × side pixels, streamed (never held in memory)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    comp = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * side
    parts = [comp.compress(row) for _ in range(side)] + [comp.flush()]
    idat = b"".join(parts)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def build(d: Path, quick: bool) -> dict[str, Expect]:
    """Write the hostile folder; what each report line must say (by report path)."""
    import pymupdf

    from tests.ingest import helpers

    d.mkdir(parents=True)
    ex: dict[str, Expect] = {}
    write(d / "good.md", f"# Kestrel returns\n\n{CONTROL}\n")
    ex["good.md"] = Expect({"ok"})
    for suffix in (".md", ".pdf", ".docx", ".xlsx", ".pptx", ".png", ".csv", ".mp3"):
        (d / f"zero{suffix}").write_bytes(b"")
        ex[f"zero{suffix}"] = Expect({"skipped"}, "empty")
    rnd = os.urandom
    for suffix in (".pdf", ".docx", ".xlsx", ".pptx", ".png", ".jpg", ".xls", ".mp3", ".wav", ".mp4"):
        (d / f"random{suffix}").write_bytes(rnd(30_000))
        ex[f"random{suffix}"] = Expect(NOT_OK)
    (d / "random.txt").write_bytes(rnd(30_000))
    ex["random.txt"] = Expect({"ok", "failed", "skipped"})   # bytes in a text file: bounded, never a crash
    pdf = helpers.make_pdf(d / "src.tmp", [f"第{i}页 page {i}" for i in range(1, 4)]).read_bytes()
    (d / "src.tmp").unlink()
    (d / "truncated.pdf").write_bytes(pdf[: len(pdf) // 3])
    ex["truncated.pdf"] = Expect(FAILED)
    docx = helpers.make_docx(d / "src.docx").read_bytes()
    (d / "src.docx").unlink()
    (d / "truncated.docx").write_bytes(docx[: len(docx) // 2])
    ex["truncated.docx"] = Expect(FAILED)
    # zip bombs: ratio, size, entry count
    _zip(d / "bomb_ratio.docx", {"[Content_Types].xml": _CT, "word/document.xml": (40, b"\0" * 2**20)})
    ex["bomb_ratio.docx"] = Expect(FAILED, "ratio|bomb|too large|cap")
    _zip(d / "bomb_ratio.xlsx", {"[Content_Types].xml": _CT, "xl/workbook.xml": (40, b"<" * 2**20)})
    ex["bomb_ratio.xlsx"] = Expect(FAILED, "ratio|bomb|too large|cap")
    if not quick:
        _zip(d / "bomb_size.pptx", {"[Content_Types].xml": _CT, "ppt/presentation.xml": (600, os.urandom(2**20))},
             method=zipfile.ZIP_STORED)   # 600 MiB stored: over the unzipped cap without any ratio
        ex["bomb_size.pptx"] = Expect(NOT_OK, "too large|cap|MiB")
        many = {"[Content_Types].xml": _CT, **{f"word/media/x{i}.xml": b"<a/>" for i in range(60_000)}}
        (d / "many_entries.docx").write_bytes(_docx_from(docx, {}))
        with zipfile.ZipFile(d / "many_entries.docx", "a") as zf:
            for name, data in many.items():
                if name != "[Content_Types].xml":
                    zf.writestr(name, data)
        ex["many_entries.docx"] = Expect({"ok", "failed"})
    # XML entity bombs (billion laughs) in the parts the parsers read
    (d / "xml_bomb.docx").write_bytes(_docx_from(docx, {"word/document.xml": _laughs(
        "w:document", _W, "<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body>").replace(
        b'<w:document xmlns="', b'<w:document xmlns:w="')}))
    ex["xml_bomb.docx"] = Expect({"ok", "failed"})
    xlsx = helpers.make_xlsx(d / "src.xlsx").read_bytes()
    (d / "src.xlsx").unlink()
    shared = [n for n in zipfile.ZipFile(io.BytesIO(xlsx)).namelist() if "sharedStrings" in n or "sheet1" in n]
    (d / "xml_bomb.xlsx").write_bytes(_docx_from(xlsx, {shared[0]: _laughs(
        "sst", "http://schemas.openxmlformats.org/spreadsheetml/2006/main", "<si><t>&lol9;</t></si>")}))
    ex["xml_bomb.xlsx"] = Expect({"ok", "failed"})
    pptx = helpers.make_pptx(d / "src.pptx").read_bytes()
    (d / "src.pptx").unlink()
    (d / "xml_bomb.pptx").write_bytes(_docx_from(pptx, {"ppt/slides/slide1.xml": _laughs(
        "p:sld", "http://schemas.openxmlformats.org/presentationml/2006/main", "<a>&lol9;</a>").replace(
        b'<p:sld xmlns="', b'<p:sld xmlns:p="')}))
    ex["xml_bomb.pptx"] = Expect({"ok", "failed"})
    # a decompression bomb: 20000 × 20000 pixels in a few hundred KB
    _png_bomb(d / "pixels_bomb.png", 6000 if quick else 20000)
    ex["pixels_bomb.png"] = Expect({"ok", "failed", "skipped"})
    # a page of 200 × 200 inches with only a drawing on it (OCR would render it)
    doc = pymupdf.open()
    page = doc.new_page(width=14400, height=14400)
    page.draw_rect(pymupdf.Rect(100, 100, 14300, 14300), color=(0, 0, 0), width=20)
    page.insert_text((7000, 7000), "x", fontsize=400)
    doc.save(d / "huge_page.pdf")
    ex["huge_page.pdf"] = Expect({"ok", "failed"})
    pages = 100 if quick else 3000
    doc = pymupdf.open()
    for i in range(pages):
        doc.new_page().insert_text((72, 72), f"page {i + 1} of the long manual", fontname="helv")
    doc.save(d / "many_pages.pdf")
    ex["many_pages.pdf"] = Expect({"ok"})
    # text with no whitespace to split at
    import base64

    n = 30_000 if quick else 300_000
    write(d / "base64.txt", base64.b64encode(os.urandom(n * 3 // 4)).decode())
    write(d / "minified.md", "var a=1;" * (n // 8))
    write(d / "unbroken_chinese.txt", "售后流程客户经理" * (n // 8))
    write(d / "digits.txt", "7" * n)
    write(d / "one_cell.csv", "id,blob\n1," + "x" * (n * 3) + "\n")
    cols = 3_000 if quick else 20_000
    write(d / "wide.csv", ",".join(f"c{i}" for i in range(cols)) + "\n" + ",".join("1" * cols) + "\n")
    for name in ("base64.txt", "minified.md", "unbroken_chinese.txt", "digits.txt", "wide.csv"):
        ex[name] = Expect({"ok"})
    ex["one_cell.csv"] = Expect({"ok", "failed"})   # csv's field limit: refused with a reason, or read
    # odd names
    bad = os.fsencode(d) + b"/bad\xff\xfename.md"
    with open(bad, "wb") as fh:
        fh.write(b"# bad name\n\ntext\n")
    ex["<non-utf8>"] = Expect({"skipped", "failed"})
    odd = {"new\nline.md": {"ok", "skipped", "failed"}, "-rf.md": {"ok"}, "\u202egnp.md": {"ok", "skipped"},
           "名字 with spaces.md": {"ok"}, ("l" * 246) + ".md": {"ok"}, ".hidden.md": {"skipped"},
           "no_suffix": {"skipped"}, "UPPER.MD": {"ok", "skipped"}, "double.pdf.md": {"ok"}}
    for name, statuses in odd.items():
        write(d / name, f"# odd name\n\nThe file named {name[:20]!r} is ordinary.\n")
        ex[name] = Expect(statuses)
    os.mkfifo(d / "pipe.md")
    ex["pipe.md"] = Expect({"skipped"}, "not a regular file")
    with open(d / "sparse.txt", "wb") as fh:
        fh.truncate(300 * 2**20)
    ex["sparse.txt"] = Expect({"skipped"}, "too large")
    # changed while read: rewritten, grown, deleted (see Churn)
    for name in ("rewritten.md", "grown.txt", "vanishing.md"):
        write(d / name, f"# {name}\n\nversion 0\n")
    ex["rewritten.md"] = Expect({"ok", "failed", "skipped"}, "")   # skipped: caught empty mid-rewrite
    ex["grown.txt"] = Expect({"ok", "failed", "skipped"}, "")
    ex["vanishing.md"] = Expect({"ok", "failed", "skipped", "removed"}, "")
    return ex


class Churn:
    """Files that change while the run reads them: rewritten.md gets a new whole version every
    few milliseconds, grown.txt keeps growing, vanishing.md comes and goes."""

    def __init__(self, d: Path) -> None:
        self.d, self.version, self.stop_flag = d, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def text(self, v: int) -> str:
        filler = " ".join(f"word{v}-{i}" for i in range(3000))
        return f"# rewritten.md\n\nversion {v}\n\n{filler}\n"

    def _run(self) -> None:
        grown = self.d / "grown.txt"
        vanishing = self.d / "vanishing.md"
        while not self.stop_flag.is_set():
            self.version += 1
            (self.d / "rewritten.md").write_text(self.text(self.version), encoding="utf-8")   # in place
            if grown.stat().st_size < 150_000:     # grows while read (and starts again, smaller)
                with grown.open("a", encoding="utf-8") as fh:
                    fh.write(f"grown line {self.version}. " * 20 + "\n")
            else:
                grown.write_text(f"# grown.txt\n\nrestarted at {self.version}\n", encoding="utf-8")
            if self.version % 7 == 0:
                vanishing.unlink(missing_ok=True)
            elif self.version % 7 == 3:
                vanishing.write_text(f"# back\n\nversion {self.version}\n", encoding="utf-8")
            time.sleep(0.005)

    def start(self) -> "Churn":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_flag.set()
        self.thread.join(10)


class Watch:
    """alice asks every few seconds; memory of the server and its children is sampled."""

    def __init__(self, env: Env) -> None:
        import psutil

        self.env, self.proc = env, psutil.Process()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.peak_gb = 0.0
        self.stop_flag = threading.Event()
        self.threads = [threading.Thread(target=self._ask, daemon=True), threading.Thread(target=self._mem, daemon=True)]

    def _ask(self) -> None:
        alice = self.env.client("alice")
        while not self.stop_flag.is_set():
            t0 = time.perf_counter()
            try:
                status, text = self.env.ask(alice, PUBLIC_QUESTION, "alice")
                if status != 200:
                    self.errors.append(f"/api/ask → {status}: {text[:100]}")
            except Exception as exc:  # noqa: BLE001 - counted
                self.errors.append(f"/api/ask raised {exc!r}")
            self.latencies.append(time.perf_counter() - t0)
            self.stop_flag.wait(2.0)

    def _mem(self) -> None:
        import psutil

        while not self.stop_flag.is_set():
            try:
                procs = [self.proc] + self.proc.children(recursive=True)
                rss = 0
                for p in procs:
                    try:
                        rss += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak_gb = max(self.peak_gb, rss / 2**30)
            except Exception:  # noqa: BLE001 - a sample lost is not an attack result
                pass
            self.stop_flag.wait(0.2)

    def __enter__(self) -> "Watch":
        for th in self.threads:
            th.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_flag.set()
        for th in self.threads:
            th.join(150)


def _row_for(rows: list[list], name: str) -> list | None:
    if name == "<non-utf8>":
        return next((r for r in rows if str(r[0]).startswith("bad") and "name.md" in str(r[0])), None)
    return next((r for r in rows if r[0] == name or r[0] == name + "/"), None)


def run(env: Env, t: Tally) -> None:
    d = env.root / "hostile"
    t0 = time.perf_counter()
    expect = build(d, env.quick)
    log_build = time.perf_counter() - t0
    budget = 600 if env.quick else 1200
    churn = Churn(d).start()
    with Watch(env) as watch:
        started = time.perf_counter()
        try:
            rows, summary, msgs = env.ingest_via_console(d, timeout=budget)
        finally:
            churn.stop()
        spent = time.perf_counter() - started
    t.check(rows is not None, f"the console's ingestion did not complete in {budget} s: "
                              f"{[m.get('msg') for m in msgs][-3:]}")
    rows = rows or []
    t.check(spent < budget, f"ingesting the hostile folder took {spent:.0f} s (budget {budget} s)")
    for name, want in expect.items():
        row = _row_for(rows, name)
        if name == "vanishing.md" and row is None:   # deleted between listing and the report
            t.check(True, "")
            continue
        if not t.check(row is not None, f"no report line for {name!r}"):
            continue
        status, reason = str(row[1]), str(row[3] or "")
        ok = status in want.statuses and (not want.reason or re.search(want.reason, reason, re.I) is not None)
        t.check(ok, f"{name[:60]!r}: {status} ({reason[:120]}), expected {sorted(want.statuses)}"
                    + (f" with a reason like /{want.reason}/" if want.reason else ""))
    status, text = env.ask(env.client("alice"), "doc: Kestrel warehouse Wuxi returned printers Thursday", "alice")
    t.check(status == 200 and "Kestrel warehouse" in text, f"the ordinary file beside them is not found ({status})")
    _check_store(env, t, d)
    t.check(not watch.errors, f"alice's questions during the run failed: {watch.errors[:3]}")
    slow = max(watch.latencies, default=0.0)
    t.check(bool(watch.latencies) and slow < ANSWER_BUDGET_S,
            f"answers during the run: {len(watch.latencies)}, slowest {slow:.1f} s (budget {ANSWER_BUDGET_S:g} s)")
    t.check(watch.peak_gb < MEMORY_BUDGET_GB, f"peak memory {watch.peak_gb:.2f} GiB (budget {MEMORY_BUDGET_GB:g})")
    t.note(f"hostile folder: {len(expect)} files (built in {log_build:.0f} s), ingested in {spent:.0f} s; "
           f"{len(watch.latencies)} answers meanwhile, median {percentile(watch.latencies, 0.5):.1f} s, "
           f"slowest {slow:.1f} s; peak memory (server + workers) {watch.peak_gb:.2f} GiB")
    _check_mid_read(env, t, churn)
    # the rerun: the churned files settle to their final text, nothing else is redone
    t0 = time.perf_counter()
    again, _, _ = env.ingest_via_console(d, timeout=budget)
    rerun = time.perf_counter() - t0
    again = again or []
    redone = [r[0] for r in again if r[1] == "ok" and r[0] not in ("rewritten.md", "grown.txt", "vanishing.md")]
    t.check(bool(again) and not redone, f"the rerun ingested again: {redone[:5]}")
    final = churn.text(churn.version)
    _check_churned(env, t, d, final)
    t.note(f"rerun of the hostile folder: {rerun:.0f} s")
    _uploads(env, t)


def _sources_under(env: Env, d: Path):
    root = str(d.resolve())
    return [r for r in env.ctx.kb.chunk_store.sources() if r.root == root or r.root.startswith(root + "/")]


def _check_store(env: Env, t: Tally, d: Path) -> None:
    from kb_agent.ingest.chunking import CHARS_PER_TOKEN

    store = env.ctx.kb.chunk_store
    problems = store.integrity_problems()
    t.check(not problems, f"store integrity after the hostile run: {problems[:3]}")
    s = env.settings.ingest
    bound = CHARS_PER_TOKEN * s.chunk_tokens
    for rec in _sources_under(env, d):
        chunks = store.chunks_for_source(rec.path)
        longest = max((len(c.text) for _, c in chunks), default=0)
        t.check(longest <= bound and len(chunks) <= s.max_chunks_per_file,
                f"{rec.path[:60]}: {len(chunks)} chunks, longest {longest} characters (bound {bound}, "
                f"cap {s.max_chunks_per_file})")


def _check_mid_read(env: Env, t: Tally, churn: Churn) -> None:
    """rewritten.md was read while it changed: if it is indexed, the manifest must describe the
    very version whose text is in the chunks (issue #9, item 6)."""
    import hashlib

    store = env.ctx.kb.chunk_store
    rec = next((r for r in _sources_under(env, churn.d) if r.path == "rewritten.md"), None)
    if rec is None or rec.status != "ok":
        t.check(rec is None or "chang" in (rec.reason or ""),
                f"rewritten.md after the churned run: {rec and rec.status} ({rec and rec.reason})")
        return
    found = {m.group(1) for _, c in store.chunks_for_source("rewritten.md") for m in re.finditer(r"(?:version |word)(\d+)", c.text)}
    if not t.check(len(found) == 1, f"rewritten.md: chunks mix versions {sorted(found)[:5]}"):
        return
    v = int(found.pop())
    digest = hashlib.sha256(churn.text(v).encode("utf-8")).hexdigest()
    t.check(rec.content_hash == digest, f"rewritten.md: chunks hold version {v}, the manifest's hash is another "
                                        "version's (every later run would call it unchanged)")


def _check_churned(env: Env, t: Tally, d: Path, final_rewritten: str) -> None:
    """After the rerun (nothing changes any more) the index holds each churned file's final text."""
    import hashlib

    store = env.ctx.kb.chunk_store
    recs = {r.path: r for r in _sources_under(env, d)}
    for name in ("rewritten.md", "grown.txt"):
        path = d / name
        text = path.read_text(encoding="utf-8")
        rec = recs.get(name)
        if not t.check(rec is not None and rec.status == "ok", f"{name} after the rerun: {rec and rec.status} "
                                                              f"({rec and rec.reason})"):
            continue
        indexed = " ".join(" ".join(c.text.split()) for _, c in store.chunks_for_source(name))
        tail = " ".join(text.split())[-200:]
        t.check(tail[-120:] in indexed, f"{name}: the index does not hold the file's final text "
                                         f"(…{tail[-60:]!r} missing); manifest size {rec.size}, file {path.stat().st_size}")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        t.check(rec.size == path.stat().st_size and rec.content_hash == digest,
                f"{name}: the manifest describes {rec.size} bytes ({rec.content_hash[:12]}), the file has "
                f"{path.stat().st_size} ({digest[:12]})")
    if "version" in final_rewritten:
        v = final_rewritten.split("version ", 1)[1].split("\n", 1)[0]
        got = [c.text for _, c in store.chunks_for_source("rewritten.md")]
        t.check(any(f"version {v}" in c for c in got), f"rewritten.md: version {v} (the last) is not what is indexed")


def _uploads(env: Env, t: Tally) -> None:
    """Hostile uploads through the console: refused, or stored only under data/uploads."""
    admin = env.client("admin")
    before = {p for p in env.root.rglob("*")} | {p for p in env.outside_dir.rglob("*")}
    cases = [("../../../../escape.md", b"# escape\n\nUpload traversal text.\n", {"ok", "refused"}),
             ("..\\..\\escape2.md", b"# escape\n\nUpload traversal two.\n", {"ok", "refused"}),
             ("/etc/cron.d/evil.md", b"# cron\n\nabsolute name\n", {"ok", "refused"}),
             ("empty.md", b"", {"refused"}), ("evil.exe", b"MZ\x90\x00" + os.urandom(100), {"refused"}),
             ("fake.pdf", b"MZ this is not a pdf", {"refused"}), ("latin1.txt", "caf\xe9 ".encode("latin-1") * 50,
                                                                {"refused"}),
             ("fake.docx", b"PK\x03\x04" + os.urandom(500), {"failed", "refused"})]
    for name, content, want in cases:
        status, fd = env.upload(admin, name, content)
        if not t.check(status == 200 and fd is not None, f"upload of {name!r} → {status}"):
            continue
        out, msgs = env.console(admin, "upload_and_ingest", [[fd]], timeout=300)
        rows = (out[1].get("data") if out and isinstance(out[1], dict) else out[1] if out else None) or []
        row = next((r for r in rows if any(r)), None)
        if out is None:   # the upload component itself refused the value (Gradio's file-type check)
            error = " ".join(str((m.get("output") or {}).get("error") or "") for m in msgs if isinstance(m, dict))
            row = [name, "refused", 0, error[:120]] if "Invalid file type" in error else None
        t.check(row is not None and str(row[1]) in want,
                f"upload {name!r}: {row and row[:4]}, expected {sorted(want)}")
    after = {p for p in env.root.rglob("*")} | {p for p in env.outside_dir.rglob("*")}
    uploads = (env.data / "uploads").resolve()
    stray = [str(p) for p in after - before if not p.resolve().is_relative_to(uploads)
             and not str(p).startswith(str(env.data))]
    t.check(not stray, f"uploads wrote outside data/uploads: {stray[:3]}")
    t.check(not Path("/etc/cron.d/evil.md").exists(), "an upload was written to /etc/cron.d")
    if not env.quick:
        big = b"# big\n\n" + b"x" * int((env.settings.web.max_upload_mb + 1) * 2**20)
        status, fd = env.upload(admin, "big.md", big)
        t.check(status in (400, 413) or fd is None, f"an upload over web.max_upload_mb was accepted ({status})")

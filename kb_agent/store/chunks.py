"""``ChunkStore``: chunks, the file manifest and the embedding cache in one SQLite file (WAL).

Consumers (the retriever) read ``iter_chunks``/``vectors`` and follow ``generation`` /
``changes_since``. Chunk rows have an ``INTEGER PRIMARY KEY AUTOINCREMENT`` rowid: stable for
the chunk's lifetime and never reused, so it can be a FAISS id.

Writes: one file's replacement (old chunks out, new in, manifest row) is one transaction, so a
kill -9 at any moment leaves the previous consistent state. Embeddings are cached by
(model id, hash of the embedded text) and written before the chunks that use them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from kb_agent.chunk import Chunk, Locator
from kb_agent.errors import StoreError

SCHEMA_VERSION = 2
#: Change-log entries older than this many generations are pruned; older readers rebuild.
CHANGE_LOG_GENERATIONS = 2000
#: Chunk length (characters) above which a schema-1 chunk came from the unbounded chunker:
#: 6 characters per token of the default 400-token budget (kb_agent.ingest.chunking).
_V1_OVERSIZED = 2400

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    source TEXT PRIMARY KEY, root TEXT NOT NULL, content_hash TEXT NOT NULL, mtime REAL NOT NULL,
    size INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT, chunks INTEGER NOT NULL,
    access_groups TEXT NOT NULL, doc_title TEXT NOT NULL DEFAULT '', file_type TEXT NOT NULL DEFAULT '',
    signature TEXT NOT NULL DEFAULT '', ingested_at REAL NOT NULL, generation INTEGER NOT NULL,
    real_path TEXT NOT NULL DEFAULT '', file_id TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, source TEXT NOT NULL,
    ord INTEGER NOT NULL, text TEXT NOT NULL, title TEXT NOT NULL, locator TEXT NOT NULL,
    metadata TEXT NOT NULL, embed_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source, ord);
CREATE TABLE IF NOT EXISTS embeddings (
    model_id TEXT NOT NULL, text_hash TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (model_id, text_hash)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (generation INTEGER NOT NULL, chunk_rowid INTEGER NOT NULL, op TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS changes_generation ON changes(generation);
"""


@dataclass(frozen=True)
class SourceRecord:
    """One manifest row: a file the store knows, with its last outcome."""

    path: str  # the source (relative to its root, POSIX)
    content_hash: str
    mtime: float
    chunks: int
    status: str  # ok | failed
    access_groups: tuple[str, ...] = ("everyone",)
    root: str = ""
    size: int = 0
    reason: str | None = None
    doc_title: str = ""
    file_type: str = ""
    signature: str = ""
    ingested_at: float = 0.0
    generation: int = 0
    #: The file that was read (absolute, resolved: a symlink's target) and its identity
    #: ("device:inode:ctime_ns") when it was read; "" in records from before schema 2.
    real_path: str = ""
    file_id: str = ""

    def to_dict(self) -> dict:
        return {"path": self.path, "root": self.root, "content_hash": self.content_hash, "mtime": self.mtime,
                "size": self.size, "chunks": self.chunks, "status": self.status, "reason": self.reason,
                "access_groups": list(self.access_groups), "doc_title": self.doc_title,
                "file_type": self.file_type, "ingested_at": self.ingested_at}


def file_identity(st: os.stat_result) -> str:
    """``SourceRecord.file_id``: which file a path led to, and whether it was touched since —
    device, inode and inode change time (no one can set it back; a rewrite, a rename over or a
    chmod moves it)."""
    return f"{st.st_dev}:{st.st_ino}:{st.st_ctime_ns}"


@dataclass(frozen=True)
class Changes:
    generation: int
    added_rowids: list[int] = field(default_factory=list)
    removed_rowids: list[int] = field(default_factory=list)


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA foreign_keys=OFF")
    return con


class ChunkStore:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._con = _connect(self.path)
            self._con.executescript(_SCHEMA)
            with self._tx():
                self._con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                self._con.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
                self._con.execute("INSERT OR IGNORE INTO meta VALUES ('log_floor', '0')")
                # Identifies this store: an index built from another (deleted, rebuilt) store is not reused.
                self._con.execute("INSERT OR IGNORE INTO meta VALUES ('store_id', ?)", (uuid.uuid4().hex,))
            version = int(self._meta("schema_version"))
            if version == 1:
                version = self._migrate_from_1()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"Chunk store {self.path} is unusable: {exc}",
                             hint="move the file away and re-run `kb-agent ingest` to rebuild it") from exc
        if version != SCHEMA_VERSION:
            raise StoreError(f"Chunk store {self.path} has schema {version}, expected {SCHEMA_VERSION}",
                             hint="re-run `kb-agent ingest` on a fresh data directory")

    def _migrate_from_1(self) -> int:
        """Schema 1 -> 2, in place: the manifest learns which file was read (``real_path``,
        ``file_id``). Files with a chunk longer than today's default bound (from a chunker that
        had no character bound) forget their parser signature, so the next run re-chunks them."""
        with self._tx() as con:
            if con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "1":
                cols = {r[1] for r in con.execute("PRAGMA table_info(sources)")}
                for col in ("real_path", "file_id"):
                    if col not in cols:
                        con.execute(f"ALTER TABLE sources ADD COLUMN {col} TEXT NOT NULL DEFAULT ''")
                con.execute("UPDATE sources SET signature='' WHERE source IN "
                            "(SELECT DISTINCT source FROM chunks WHERE length(text) > ?)", (_V1_OVERSIZED,))
                con.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
        return int(self._meta("schema_version"))

    # -- plumbing -------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._con.close()

    def _tx(self):
        store = self

        class _Tx:
            def __enter__(self):
                store._lock.acquire()
                store._con.execute("BEGIN IMMEDIATE")
                return store._con

            def __exit__(self, exc_type, exc, tb):
                try:
                    store._con.execute("ROLLBACK" if exc_type else "COMMIT")
                finally:
                    store._lock.release()
                return False

        return _Tx()

    @property
    def store_id(self) -> str:
        """Random id given to this store when it was created (rowids restart in a new store)."""
        return self._meta("store_id")

    def _meta(self, key: str) -> str:
        with self._lock:
            row = self._con.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else ""

    def _bump(self, con: sqlite3.Connection) -> int:
        gen = int(con.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0]) + 1
        con.execute("UPDATE meta SET value=? WHERE key='generation'", (str(gen),))
        floor = gen - CHANGE_LOG_GENERATIONS
        if floor > 0 and gen % 100 == 0:
            con.execute("DELETE FROM changes WHERE generation <= ?", (floor,))
            con.execute("UPDATE meta SET value=? WHERE key='log_floor'", (str(floor),))
        return gen

    # -- reads ----------------------------------------------------------------------------
    def generation(self) -> int:
        return int(self._meta("generation"))

    def count(self) -> int:
        with self._lock:
            return self._con.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    @staticmethod
    def _row_to_chunk(row) -> Chunk:
        cid, source, text, title, locator, metadata = row
        return Chunk(text=text, source=source, locator=Locator.from_dict(json.loads(locator)), title=title,
                     metadata=json.loads(metadata), id=cid)

    _COLS = "id, source, text, title, locator, metadata"

    def iter_chunks(self) -> Iterator[tuple[int, Chunk]]:
        with self._lock:
            rows = self._con.execute(f"SELECT rowid, {self._COLS} FROM chunks ORDER BY rowid").fetchall()
        for row in rows:
            yield row[0], self._row_to_chunk(row[1:])

    def sample_rowids(self, n: int) -> list[int]:
        """Up to ``n`` rowids in a fixed pseudo-random order (a multiplicative hash of the rowid):
        the same sample every time for the same chunks, and a growing corpus keeps most of it."""
        with self._lock:
            rows = self._con.execute("SELECT rowid FROM chunks ORDER BY (rowid * 2654435761) % 4294967296, rowid "
                                     "LIMIT ?", (int(n),)).fetchall()
        return sorted(r[0] for r in rows)

    def get_by_rowids(self, rowids: Sequence[int]) -> list[Chunk]:
        found = self._fetch_rows(rowids, f"rowid, {self._COLS}", "chunks")
        return [self._row_to_chunk(found[r][1:]) for r in rowids if r in found]

    def chunks_for_source(self, source: str) -> list[tuple[int, Chunk]]:
        with self._lock:
            rows = self._con.execute(f"SELECT rowid, {self._COLS} FROM chunks WHERE source=? ORDER BY ord",
                                     (source,)).fetchall()
        return [(r[0], self._row_to_chunk(r[1:])) for r in rows]

    def _fetch_rows(self, rowids: Sequence[int], cols: str, table: str) -> dict[int, tuple]:
        out: dict[int, tuple] = {}
        ids = [int(r) for r in rowids]
        with self._lock:
            for i in range(0, len(ids), 500):
                part = ids[i:i + 500]
                q = f"SELECT {cols} FROM {table} WHERE rowid IN ({','.join('?' * len(part))})"
                for row in self._con.execute(q, part):
                    out[row[0]] = row
        return out

    def vectors(self, model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(rowids int64, vectors float32 n×dim) of all live chunks that have a vector for ``model_id``."""
        with self._lock:
            rows = self._con.execute(
                "SELECT c.rowid, e.dim, e.vector FROM chunks c JOIN embeddings e "
                "ON e.model_id=? AND e.text_hash=c.embed_hash ORDER BY c.rowid", (model_id,)).fetchall()
        return self._stack(rows)

    def vectors_for(self, model_id: str, rowids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        ids = [int(r) for r in rowids]
        rows: list = []
        with self._lock:
            for i in range(0, len(ids), 500):
                part = ids[i:i + 500]
                rows += self._con.execute(
                    "SELECT c.rowid, e.dim, e.vector FROM chunks c JOIN embeddings e "
                    f"ON e.model_id=? AND e.text_hash=c.embed_hash WHERE c.rowid IN ({','.join('?' * len(part))})",
                    [model_id, *part]).fetchall()
        order = {r: i for i, r in enumerate(ids)}
        rows.sort(key=lambda r: order[r[0]])
        return self._stack(rows)

    @staticmethod
    def _stack(rows) -> tuple[np.ndarray, np.ndarray]:
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        dim = rows[0][1]
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vecs = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), dim)
        return ids, vecs.copy()

    def changes_since(self, generation: int) -> Changes | None:
        """Chunk rowids added and removed after ``generation``; None: too old, rebuild from scratch."""
        with self._lock:
            current = int(self._con.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0])
            floor = int(self._con.execute("SELECT value FROM meta WHERE key='log_floor'").fetchone()[0])
            if generation < floor or generation > current:
                return None
            rows = self._con.execute("SELECT chunk_rowid, op FROM changes WHERE generation > ? AND generation <= ? "
                                     "ORDER BY generation", (generation, current)).fetchall()
        added: dict[int, None] = {}
        removed: dict[int, None] = {}
        for rowid, op in rows:
            if op == "add":
                added[rowid] = None
            elif rowid in added:
                del added[rowid]  # added and removed since: the reader never saw it
            else:
                removed[rowid] = None
        return Changes(current, list(added), list(removed))

    _SOURCE_COLS = ("source, content_hash, mtime, chunks, status, access_groups, root, size, reason, doc_title, "
                    "file_type, signature, ingested_at, generation, real_path, file_id")

    def sources(self) -> list[SourceRecord]:
        with self._lock:
            rows = self._con.execute(
                f"SELECT {self._SOURCE_COLS} FROM sources ORDER BY source").fetchall()
        return [SourceRecord(r[0], r[1], r[2], r[3], r[4], tuple(json.loads(r[5])), *r[6:]) for r in rows]

    def source(self, source: str) -> SourceRecord | None:
        for rec in self._sources_where("source=?", (source,)):
            return rec
        return None

    def _sources_where(self, where: str, args: tuple) -> list[SourceRecord]:
        with self._lock:
            rows = self._con.execute(
                f"SELECT {self._SOURCE_COLS} FROM sources WHERE {where}", args).fetchall()
        return [SourceRecord(r[0], r[1], r[2], r[3], r[4], tuple(json.loads(r[5])), *r[6:]) for r in rows]

    def roots(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._con.execute("SELECT DISTINCT root FROM sources")]

    def missing_embeddings(self, model_id: str, text_hashes: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(text_hashes))
        have: set[str] = set()
        with self._lock:
            for i in range(0, len(wanted), 500):
                part = wanted[i:i + 500]
                have.update(r[0] for r in self._con.execute(
                    f"SELECT text_hash FROM embeddings WHERE model_id=? AND text_hash IN ({','.join('?' * len(part))})",
                    [model_id, *part]))
        return set(wanted) - have

    def unembedded(self, model_id: str) -> list[tuple[str, int]]:
        """(embed_hash, a rowid using it) for live chunks that lack a vector for ``model_id``."""
        with self._lock:
            return self._con.execute(
                "SELECT c.embed_hash, MIN(c.rowid) FROM chunks c LEFT JOIN embeddings e "
                "ON e.model_id=? AND e.text_hash=c.embed_hash WHERE e.text_hash IS NULL GROUP BY c.embed_hash",
                (model_id,)).fetchall()

    def integrity_problems(self) -> list[str]:
        """Consistency checks (used by tests and `kb-agent ingest --check`)."""
        problems = []
        with self._lock:
            ok = self._con.execute("PRAGMA integrity_check").fetchone()[0]
            if ok != "ok":
                problems.append(f"sqlite integrity_check: {ok}")
            for src, want, have in self._con.execute(
                    "SELECT s.source, s.chunks, (SELECT COUNT(*) FROM chunks c WHERE c.source=s.source) FROM sources s"):
                if want != have:
                    problems.append(f"{src}: manifest says {want} chunks, store has {have}")
            for (src,) in self._con.execute(
                    "SELECT DISTINCT source FROM chunks WHERE source NOT IN (SELECT source FROM sources)"):
                problems.append(f"{src}: chunks without a manifest row")
        return problems

    # -- writes ---------------------------------------------------------------------------
    def put_embeddings(self, model_id: str, text_hashes: Sequence[str], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with self._tx() as con:
            con.executemany("INSERT OR IGNORE INTO embeddings VALUES (?,?,?,?)",
                            [(model_id, h, vectors.shape[1], vectors[i].tobytes()) for i, h in enumerate(text_hashes)])

    def replace_source(self, record: SourceRecord, chunks: Sequence[Chunk], embed_hashes: Sequence[str]) -> int:
        """Atomically replace ``record.path``'s chunks and manifest row; returns the new generation."""
        assert len(chunks) == len(embed_hashes)
        with self._tx() as con:
            gen = self._bump(con)
            self._delete_chunks(con, record.path, gen)
            for ord_, (c, h) in enumerate(zip(chunks, embed_hashes)):
                cur = con.execute(
                    "INSERT INTO chunks (id, source, ord, text, title, locator, metadata, embed_hash) VALUES (?,?,?,?,?,?,?,?)",
                    (c.id, c.source, ord_, c.text, c.title, json.dumps(c.locator.to_dict(), ensure_ascii=False),
                     json.dumps(dict(c.metadata), ensure_ascii=False, default=str), h))
                con.execute("INSERT INTO changes VALUES (?,?,'add')", (gen, cur.lastrowid))
            self._upsert(con, record, len(chunks), gen)
        return gen

    def record_outcome(self, record: SourceRecord) -> None:
        """Update a manifest row without touching its chunks (unchanged file, or a failure that
        keeps the previous version's chunks)."""
        with self._tx() as con:
            have = con.execute("SELECT COUNT(*) FROM chunks WHERE source=?", (record.path,)).fetchone()[0]
            gen = int(con.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0])
            self._upsert(con, record, have, gen)

    def remove_source(self, source: str) -> int:
        with self._tx() as con:
            gen = self._bump(con)
            self._delete_chunks(con, source, gen)
            con.execute("DELETE FROM sources WHERE source=?", (source,))
        return gen

    @staticmethod
    def _delete_chunks(con: sqlite3.Connection, source: str, gen: int) -> None:
        old = [r[0] for r in con.execute("SELECT rowid FROM chunks WHERE source=?", (source,))]
        if old:
            con.executemany("INSERT INTO changes VALUES (?,?,'del')", [(gen, r) for r in old])
            con.execute("DELETE FROM chunks WHERE source=?", (source,))

    @staticmethod
    def _upsert(con: sqlite3.Connection, r: SourceRecord, n_chunks: int, gen: int) -> None:
        con.execute(
            "INSERT OR REPLACE INTO sources (source, root, content_hash, mtime, size, status, reason, chunks, "
            "access_groups, doc_title, file_type, signature, ingested_at, generation, real_path, file_id) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (r.path, r.root, r.content_hash, r.mtime, r.size, r.status, r.reason, n_chunks,
             json.dumps(list(r.access_groups)), r.doc_title, r.file_type, r.signature, r.ingested_at or time.time(), gen,
             r.real_path, r.file_id))

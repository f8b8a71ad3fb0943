"""The FAISS :class:`~kb_agent.index.backend.VectorIndex`: the embedded default.

Everything FAISS-specific lives here, not in the Retriever:

- the kind: exact inner product (``flat``) below ``retrieval.hnsw_threshold`` vectors, HNSW
  from there on; a flat index that grows past it is rebuilt as HNSW by :meth:`maintain`;
- HNSW removals are tombstones, compacted by :meth:`maintain` once they pass
  ``retrieval.compact_share`` of the index;
- the scope becomes a row-id filter from a :class:`~kb_agent.index.filters.MetaTable` of the
  rows' sources and access groups (kept in memory, built from the chunk store on open);
- persistence: ``data_dir/index/vectors-<model>.faiss`` plus its ``.json`` meta (generation,
  model, chunk store id), written atomically; indexes of 100k vectors and more are written
  by a background thread so the search that applied an ingestion does not wait for it.

Not thread-safe for writers: the Retriever serialises updates, and runs :meth:`upsert`,
:meth:`delete` and every commit under its write lock.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from kb_agent.errors import StoreError
from kb_agent.index.backend import Commit, IndexIdentity, IndexRow, Scope
from kb_agent.index.filters import MetaTable
from kb_agent.index.vector import FaissVectorStore

log = logging.getLogger(__name__)
#: Vector indexes at least this large are saved in the background after an update.
BACKGROUND_SAVE_FROM = 100_000


def faiss_path(index_dir: Path, model_id: str) -> Path:
    """The file of the index for ``model_id`` (one per embedder, so switching back is free)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)
    return Path(index_dir) / f"vectors-{safe}.faiss"


def _meta_rows(rows: Sequence[IndexRow]):
    return ((r.rowid, r.source, r.access_groups) for r in rows)


class FaissVectorIndex:
    def __init__(self, settings, index_dir: Path, identity: IndexIdentity):
        self.settings = settings            # RetrievalSettings
        self.identity = identity
        self.path = faiss_path(index_dir, identity.model_id)
        self._store = self._new_store(0)
        self._meta = MetaTable()
        self._lock = threading.RLock()      # a background snapshot never meets a half-applied change
        self._saved_generation = -1
        self._save_thread: threading.Thread | None = None

    def _new_store(self, n: int, kind: str | None = None) -> FaissVectorStore:
        s = self.settings
        kind = kind or ("hnsw" if n >= s.hnsw_threshold else "flat")
        return FaissVectorStore(self.identity.dim, kind, hnsw_m=s.hnsw_m, ef_construction=s.hnsw_ef_construction,
                                ef_search=s.hnsw_ef_search, use_gpu=s.use_gpu)

    # -- loading and rebuilding ----------------------------------------------------------
    def open(self, rows: Callable[[], Sequence[IndexRow]]) -> int | None:
        if not self.path.exists():
            return None
        try:
            store, meta = FaissVectorStore.load(self.path, use_gpu=self.settings.use_gpu)
        except StoreError as exc:
            # The vectors themselves live in the chunk store: rebuilding is always possible.
            log.warning("%s — rebuilding from the chunk store", exc)
            return None
        if meta.get("model_id") != self.identity.model_id or store.dim != self.identity.dim:
            log.warning("vector index %s is for another embedder; rebuilding", self.path)
            return None
        if meta.get("store_id") != self.identity.store_id:
            log.warning("vector index %s was built from another chunk store; rebuilding", self.path)
            return None
        generation = int(meta.get("generation", -1))
        table = MetaTable.build(_meta_rows(rows()))
        with self._lock:
            self._store, self._meta = store, table
            self._saved_generation = generation       # the file already holds this generation
        return generation

    def rebuild(self, rows: Sequence[IndexRow], vectors: np.ndarray) -> Commit:
        store = self._new_store(len(rows))
        if len(rows):
            store.add(np.asarray([r.rowid for r in rows], dtype=np.int64), np.asarray(vectors, dtype=np.float32))
        table = MetaTable.build(_meta_rows(rows))

        def commit() -> None:
            with self._lock:
                self._store, self._meta = store, table
                self._saved_generation = -1
        return commit

    # -- changes -------------------------------------------------------------------------
    def upsert(self, rows: Sequence[IndexRow], vectors: np.ndarray) -> None:
        if not len(rows):
            return
        ids = [r.rowid for r in rows]
        with self._lock:
            self._store.add(np.asarray(ids, dtype=np.int64), np.asarray(vectors, dtype=np.float32))
            self._meta = self._meta.updated(_meta_rows(rows), ids)

    def delete(self, rowids: Sequence[int]) -> None:
        if not len(rowids):
            return
        with self._lock:
            self._store.remove(np.asarray(rowids, dtype=np.int64))
            self._meta = self._meta.updated((), rowids)

    def maintain(self) -> Commit | None:
        """Flat grown past the threshold → HNSW; HNSW with too many tombstones → compacted.
        The new index is built while searches go on; the commit swaps it in."""
        store, s = self._store, self.settings
        if store.kind == "flat" and len(store) >= s.hnsw_threshold:
            fresh = store.rebuilt("hnsw")
        elif store.kind == "hnsw" and store.tombstones > s.compact_share * max(1, len(store)):
            fresh = store.rebuilt()
        else:
            return None

        def commit() -> None:
            with self._lock:
                self._store = fresh
        return commit

    # -- search --------------------------------------------------------------------------
    def search(self, query: np.ndarray, k: int, scope: Scope) -> tuple[np.ndarray, np.ndarray]:
        store = self._store
        if not len(store):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        allowed = self._meta.allowed(scope.principal, scope.filters)
        return store.search(query, k, allowed)

    def scores_for(self, query: np.ndarray, rowids: np.ndarray) -> np.ndarray:
        return self._store.scores_for(query, rowids)

    def __len__(self) -> int:
        return len(self._store)

    def stats(self) -> dict[str, Any]:
        store = self._store
        return {"backend": "faiss", "kind": store.kind, "vectors": len(store), "tombstones": store.tombstones,
                "index_file": str(self.path)}

    # -- persistence ---------------------------------------------------------------------
    def checkpoint(self, generation: int) -> None:
        if len(self._store) < BACKGROUND_SAVE_FROM:
            self._save(generation)
        else:
            self._save_thread = threading.Thread(target=self._save, args=(generation,), name="kb-index-save",
                                                 daemon=True)
            self._save_thread.start()

    def flush(self, timeout: float | None = None) -> None:
        thread = self._save_thread
        if thread is not None:
            thread.join(timeout)

    def _save(self, generation: int) -> None:
        with self._lock:   # serialise in memory under the lock; write to disk outside it
            if generation <= self._saved_generation:
                return
            data, meta = self._store.snapshot({"generation": generation, "model_id": self.identity.model_id,
                                               "store_id": self.identity.store_id})
        try:
            FaissVectorStore.write_snapshot(self.path, data, meta)
            self._saved_generation = max(self._saved_generation, generation)
        except OSError as exc:
            log.warning("could not save the vector index to %s: %s", self.path, exc)

"""Dense vector search in FAISS: the low-level store behind :class:`~kb_agent.index.faiss_index.FaissVectorIndex`.

Vectors are L2-normalised, so inner product is cosine similarity. Ids are the chunk store's
stable int64 rowids (``faiss.IndexIDMap2``), which makes incremental add / remove possible.

- ``flat``: exact inner product; removals are real.
- ``hnsw``: approximate, for large collections. FAISS HNSW cannot delete, so removed ids are
  tombstones excluded inside the search (an ``IDSelector``) until :meth:`compact` rebuilds.

Filters (an :class:`IdFilter`, or an array of allowed ids) are applied inside FAISS with an
``IDSelector``, never after truncation; a very selective filter on HNSW falls back to exact
scoring of the allowed ids. Selectors are cached per filter object (filters are cached per
snapshot), so the common "everything but a few restricted files" costs little per query.
On a machine where FAISS sees a GPU (faiss-gpu-cu12) unfiltered flat searches run there.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Literal

import numpy as np

from kb_agent.errors import StoreError
from kb_agent.index.filters import IdFilter

log = logging.getLogger(__name__)

VectorKind = Literal["flat", "hnsw"]
#: HNSW with a filter that keeps fewer than this share of the vectors scores them exactly.
EXACT_FALLBACK_SHARE = 0.02


def _faiss():
    import faiss

    return faiss


def _as_matrix(vectors: np.ndarray, dim: int) -> np.ndarray:
    x = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.shape[1] != dim:
        raise StoreError(f"vector dimension {x.shape[1]} does not match the index dimension {dim}",
                         hint="The embedder changed; re-ingest or delete the index to rebuild it.")
    return x


class FaissVectorStore:
    """A FAISS index keyed by int64 ids. Not thread-safe for writers; the Retriever serialises."""

    def __init__(self, dim: int, kind: VectorKind = "flat", *, hnsw_m: int = 32,
                 ef_construction: int = 200, ef_search: int = 128, use_gpu: bool = True):
        faiss = _faiss()
        self.dim = int(dim)
        self.kind = kind
        self.hnsw_m, self.ef_construction, self.ef_search = hnsw_m, ef_construction, ef_search
        self.use_gpu = use_gpu
        self._deleted: set[int] = set()
        self._gpu_index = None
        self._gpu_lock = threading.Lock()
        self._sel_cache: dict = {}
        self._flat_view: tuple[np.ndarray, np.ndarray] | None = None
        if kind == "flat":
            base = faiss.IndexFlatIP(self.dim)
        elif kind == "hnsw":
            base = faiss.IndexHNSWFlat(self.dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            base.hnsw.efConstruction = ef_construction
            base.hnsw.efSearch = ef_search
        else:
            raise StoreError(f"unknown vector index kind {kind!r}", hint="use 'flat' or 'hnsw'")
        self.index = faiss.IndexIDMap2(base)

    # -- contents -------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.index.ntotal) - len(self._deleted)

    def _all_ids(self) -> np.ndarray:
        return _faiss().vector_to_array(self.index.id_map).astype(np.int64)

    def ids(self) -> np.ndarray:
        ids = self._all_ids()
        if self._deleted:
            ids = ids[~np.isin(ids, np.fromiter(self._deleted, np.int64))]
        return np.sort(ids)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))
        if not len(ids):
            return
        x = _as_matrix(vectors, self.dim)
        if len(ids) != len(x):
            raise StoreError(f"{len(ids)} ids for {len(x)} vectors")
        if not len(ids):
            return
        if len(np.unique(ids)) != len(ids):
            raise StoreError("duplicate ids in one add")
        if self.kind == "hnsw" and self._deleted and self._deleted.intersection(ids.tolist()):
            self.compact()  # a reused id must not meet its own tombstone
        existing = np.intersect1d(ids, self._all_ids())
        if len(existing):
            self.remove(existing)
            if self.kind == "hnsw":
                self.compact()
        self.index.add_with_ids(x, ids)
        self._gpu_index = None
        self._sel_cache = {}
        self._flat_view = None

    def remove(self, ids: np.ndarray) -> int:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        present = np.intersect1d(ids, self._all_ids())
        if self._deleted:
            present = present[~np.isin(present, np.fromiter(self._deleted, np.int64))]
        if not len(present):
            return 0
        if self.kind == "flat":
            self.index.remove_ids(_faiss().IDSelectorBatch(present))
        else:
            self._deleted.update(int(i) for i in present)
        self._gpu_index = None
        self._sel_cache = {}
        self._flat_view = None
        return len(present)

    def compact(self) -> None:
        """Rebuild without tombstones (HNSW); a no-op for flat."""
        if not self._deleted:
            return
        ids = self.ids()
        vectors = self.index.reconstruct_batch(ids) if len(ids) else np.zeros((0, self.dim), np.float32)
        fresh = FaissVectorStore(self.dim, self.kind, hnsw_m=self.hnsw_m, ef_construction=self.ef_construction,
                                 ef_search=self.ef_search, use_gpu=self.use_gpu)
        if len(ids):
            fresh.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self.index, self._deleted, self._gpu_index, self._sel_cache = fresh.index, set(), None, {}
        self._flat_view = None

    def rebuilt(self, kind: VectorKind | None = None) -> "FaissVectorStore":
        """A new store of ``kind`` (default: the same) holding the live vectors, without
        tombstones. Reads only, so searches may go on while it is built."""
        ids = self.ids()
        vectors = self.index.reconstruct_batch(ids) if len(ids) else np.zeros((0, self.dim), np.float32)
        fresh = FaissVectorStore(self.dim, kind or self.kind, hnsw_m=self.hnsw_m,
                                 ef_construction=self.ef_construction, ef_search=self.ef_search,
                                 use_gpu=self.use_gpu)
        if len(ids):
            fresh.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        return fresh

    @property
    def tombstones(self) -> int:
        return len(self._deleted)

    # -- search ---------------------------------------------------------------------------
    def scores_for(self, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
        q = _as_matrix(query, self.dim)[0]
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        out = np.full(len(ids), np.nan, dtype=np.float32)
        if not len(ids):
            return out
        known = np.isin(ids, self._all_ids())
        if self._deleted:
            known &= ~np.isin(ids, np.fromiter(self._deleted, np.int64))
        if known.any():
            out[known] = self.index.reconstruct_batch(ids[known]) @ q
        return out

    def search(self, query: np.ndarray, k: int, allowed: "IdFilter | np.ndarray | None" = None
               ) -> tuple[np.ndarray, np.ndarray]:
        faiss = _faiss()
        q = _as_matrix(query, self.dim)
        empty = (np.zeros(0, np.int64), np.zeros(0, np.float32))
        filt = IdFilter.only(allowed) if isinstance(allowed, np.ndarray) else allowed
        live = len(self)
        k = min(int(k), live)
        if filt is not None and not filt.exclude:
            ids = filt.ids
            if self._deleted:
                ids = ids[~np.isin(ids, self._deleted_array())]
            k = min(k, len(ids))
            if k <= 0:
                return empty
            if self.kind == "hnsw" and len(ids) <= max(k, EXACT_FALLBACK_SHARE * live):
                return self._exact_among(q[0], ids, k)
        if k <= 0:
            return empty
        if filt is not None and self.kind == "flat":
            # FAISS's flat search with an IDSelector leaves BLAS for a scalar loop (~200 ms at
            # 100k); scoring the stored matrix with numpy and masking is as fast as unfiltered.
            return self._flat_masked(q[0], filt, k)
        sel = self._selector(filt)
        if sel is None and self.kind == "flat":
            gpu = self._gpu()
            if gpu is not None:
                scores, ids = gpu.search(q, k)
                return _clean(ids[0], scores[0])
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW()
            params.efSearch = max(self.ef_search, k)
        else:
            params = faiss.SearchParameters()
        if sel is not None:
            params.sel = sel
        scores, ids = self.index.search(q, k, params=params)
        return _clean(ids[0], scores[0])

    def _flat_masked(self, q: np.ndarray, filt: "IdFilter", k: int) -> tuple[np.ndarray, np.ndarray]:
        faiss = _faiss()
        if self._flat_view is None:
            flat = faiss.downcast_index(self.index.index)
            n = int(flat.ntotal)
            xb = faiss.rev_swig_ptr(flat.get_xb(), n * self.dim).reshape(n, self.dim) if n else \
                np.zeros((0, self.dim), np.float32)
            self._flat_view = (xb, self._all_ids())   # a view into FAISS memory: reset on every change
        xb, pos_ids = self._flat_view
        hit = self._sel_cache.get(("mask", id(filt)))
        if hit is not None and hit[0] is filt:
            candidates = hit[1]
        else:
            candidates = np.flatnonzero(filt.allows(pos_ids))
            if len(self._sel_cache) >= 32:
                self._sel_cache.clear()
            self._sel_cache[("mask", id(filt))] = (filt, candidates)
        if not len(candidates):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores = (xb @ q)[candidates]
        k = min(k, len(candidates))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return pos_ids[candidates[top]], scores[top].astype(np.float32)

    def _deleted_array(self) -> np.ndarray:
        return np.fromiter(self._deleted, np.int64, count=len(self._deleted))

    def _selector(self, filt: "IdFilter | None"):
        """The FAISS IDSelector for ``filt`` plus tombstones, cached by the filter's identity
        (filters are cached per snapshot; the cache is cleared whenever the index changes)."""
        if filt is None and not self._deleted:
            return None
        key = id(filt)
        hit = self._sel_cache.get(key)
        if hit is not None and hit[0] is filt:
            return hit[1]
        faiss = _faiss()
        if filt is not None and not filt.exclude:
            arr = filt.ids
            if self._deleted:
                arr = arr[~np.isin(arr, self._deleted_array())]
            arr = np.ascontiguousarray(arr, dtype=np.int64)
            sel = faiss.IDSelectorBatch(len(arr), faiss.swig_ptr(arr))
            keep = (arr,)
        else:
            parts = [filt.ids] if filt is not None else []
            if self._deleted:
                parts.append(self._deleted_array())
            arr = np.ascontiguousarray(np.unique(np.concatenate(parts)), dtype=np.int64)
            inner = faiss.IDSelectorBatch(len(arr), faiss.swig_ptr(arr))
            sel = faiss.IDSelectorNot(inner)
            keep = (arr, inner)
        if len(self._sel_cache) >= 32:
            self._sel_cache.clear()
        self._sel_cache[key] = (filt, sel, keep)   # arrays and inner selectors must stay alive
        return sel

    def _exact_among(self, q: np.ndarray, allowed: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        allowed = allowed[np.isin(allowed, self._all_ids())]
        if not len(allowed):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores = self.index.reconstruct_batch(allowed) @ q
        top = np.argsort(-scores, kind="stable")[:k]
        return allowed[top], scores[top].astype(np.float32)

    def _gpu(self):
        if not self.use_gpu:
            return None
        faiss = _faiss()
        if not hasattr(faiss, "get_num_gpus") or faiss.get_num_gpus() <= 0:
            return None
        with self._gpu_lock:
            if self._gpu_index is None:
                self._gpu_index = faiss.index_cpu_to_all_gpus(self.index)
            return self._gpu_index

    # -- persistence ----------------------------------------------------------------------
    def meta(self) -> dict:
        return {"format": 1, "dim": self.dim, "kind": self.kind, "ntotal": int(self.index.ntotal),
                "hnsw_m": self.hnsw_m, "ef_construction": self.ef_construction, "ef_search": self.ef_search,
                "deleted": sorted(self._deleted)}

    def snapshot(self, extra: dict | None = None) -> tuple[np.ndarray, dict]:
        """The index serialised in memory plus its meta: taken under the caller's read lock,
        written by :meth:`write_snapshot` after the lock is released (searches never wait on disk)."""
        data = _faiss().serialize_index(self.index)
        return data, {**self.meta(), **(extra or {}), "bytes": int(data.nbytes)}

    @staticmethod
    def write_snapshot(path: Path, data: np.ndarray, meta: dict) -> None:
        """Write ``path`` (the FAISS file) and ``path.json`` (meta) via temp files + rename.

        The meta file is renamed last and names the index size, so a crash between the two
        renames is detected on load (size mismatch) instead of serving a wrong index.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        data.tofile(tmp)
        meta_path = _meta_path(path)
        tmp_meta = meta_path.with_name(meta_path.name + f".tmp{os.getpid()}")
        tmp_meta.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, path)
        os.replace(tmp_meta, meta_path)

    def save(self, path: Path, extra: dict | None = None) -> None:
        self.write_snapshot(path, *self.snapshot(extra))

    @classmethod
    def load(cls, path: Path, *, use_gpu: bool = True) -> tuple["FaissVectorStore", dict]:
        """Load an index written by :meth:`save`; raises :class:`StoreError` when unusable."""
        faiss = _faiss()
        path = Path(path)
        meta_path = _meta_path(path)
        hint = "Delete the file to rebuild it from the chunk store (`kb-agent ingest` keeps the vectors)."
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if path.stat().st_size != meta["bytes"]:
                raise ValueError(f"size {path.stat().st_size} != recorded {meta['bytes']} (interrupted write?)")
            index = faiss.read_index(str(path))
        except FileNotFoundError as exc:
            raise StoreError(f"vector index missing: {exc.filename}", hint=hint) from exc
        except Exception as exc:  # faiss raises RuntimeError; JSON ValueError/KeyError
            raise StoreError(f"vector index {path} cannot be loaded: {type(exc).__name__}: {exc}",
                             hint=hint) from exc
        if index.d != meta["dim"] or index.ntotal != meta["ntotal"]:
            raise StoreError(f"vector index {path} does not match its meta file", hint=hint)
        store = cls(meta["dim"], meta["kind"], hnsw_m=meta["hnsw_m"], ef_construction=meta["ef_construction"],
                    ef_search=meta["ef_search"], use_gpu=use_gpu)
        store.index = faiss.downcast_index(index) if not isinstance(index, faiss.IndexIDMap2) else index
        if not isinstance(store.index, faiss.IndexIDMap2):
            raise StoreError(f"vector index {path} is not an id-mapped index", hint=hint)
        if meta["kind"] == "hnsw":
            faiss.downcast_index(store.index.index).hnsw.efSearch = meta["ef_search"]
        store._deleted = set(int(i) for i in meta["deleted"])
        return store, meta


def _meta_path(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + ".json")


def _clean(ids: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = ids >= 0
    return ids[keep].astype(np.int64), scores[keep].astype(np.float32)

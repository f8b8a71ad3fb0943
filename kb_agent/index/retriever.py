"""The Retriever: hybrid dense + keyword search kept in sync with the chunk store.

- Loads the persisted FAISS index once (``data_dir/index/``), or builds it from the chunk
  store's stored vectors; BM25 and the metadata table are built from the chunks in memory.
- Before each search it compares the chunk store's generation with its own and applies the
  changes (added / removed rowids) incrementally; ``changes_since`` returning None (history
  gone) means a rebuild. A changed glossary re-tokenises the keyword index.
- Readers hold a shared lock while they search; an update prepares the new keyword index and
  metadata first and then swaps them together with the vector changes under the exclusive
  lock, so a search sees one generation, never a mix.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

import numpy as np

from kb_agent.access import Principal
from kb_agent.chunk import Chunk
from kb_agent.errors import EmbeddingError, StoreError
from kb_agent.index.calibration import default_min_score, is_relevant
from kb_agent.index.filters import MetaTable, SearchFilters
from kb_agent.index.fusion import rrf
from kb_agent.index.keyword import BM25Index
from kb_agent.index.result import Hit, RetrievalResult
from kb_agent.index.rwlock import RWLock
from kb_agent.index.tokenize import Tokenizer
from kb_agent.index.vector import FaissVectorStore

log = logging.getLogger(__name__)
#: Vector indexes at least this large are saved in the background after an update.
BACKGROUND_SAVE_FROM = 100_000


class ChunkSource(Protocol):
    """What the Retriever needs from the chunk store (kb_agent/store/chunks.py)."""

    store_id: str
    def generation(self) -> int: ...
    def iter_chunks(self) -> Iterable[tuple[int, Chunk]]: ...
    def get_by_rowids(self, rowids: Sequence[int]) -> Any: ...
    def vectors(self, model_id: str) -> tuple[np.ndarray, np.ndarray]: ...
    def vectors_for(self, model_id: str, rowids: Sequence[int]) -> Any: ...
    def changes_since(self, generation: int) -> Any: ...


@dataclass(frozen=True)
class _State:
    generation: int
    keyword: BM25Index
    meta: MetaTable
    tokenizer_sig: str


def user_words(glossary) -> list[str]:
    """Every term, alias and Chinese name of the glossary: jieba keeps them whole."""
    words = set(glossary.terms())
    for e in glossary.entries:
        words.update(e.chinese_names())
    return sorted(w for w in words if w)


def fetch_chunks(chunks: ChunkSource, rowids: Sequence[int]) -> dict[int, Chunk]:
    """rowid -> Chunk for the rowids still in the store."""
    rowids = [int(r) for r in rowids]
    if not rowids:
        return {}
    found = _as_chunk_map(chunks.get_by_rowids(rowids), rowids)
    if found is None:
        found = {}
        for r in rowids:
            one = list(chunks.get_by_rowids([r]))
            if one:
                found[r] = one[0][1] if isinstance(one[0], tuple) else one[0]
    return found


def _as_chunk_map(result: Any, rowids: Sequence[int]) -> dict[int, Chunk] | None:
    """``get_by_rowids`` may answer a mapping, (rowid, chunk) pairs or chunks in order."""
    if isinstance(result, Mapping):
        return {int(k): v for k, v in result.items()}
    items = list(result)
    if items and isinstance(items[0], tuple):
        return {int(r): c for r, c in items}
    if len(items) == len(rowids):
        return {int(r): c for r, c in zip(rowids, items)}
    return None  # some rows vanished: the caller asks row by row


def _as_vectors(result: Any, rowids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """``vectors_for`` may answer (rowids, matrix) or a matrix aligned with ``rowids``."""
    if isinstance(result, tuple):
        ids, x = result
        return np.asarray(ids, dtype=np.int64), np.asarray(x, dtype=np.float32)
    return np.asarray(rowids, dtype=np.int64), np.asarray(result, dtype=np.float32)


class Retriever:
    def __init__(self, settings, index_dir: Path, chunks: ChunkSource, embedder,
                 glossary_fn: Callable[[], Any] | None = None):
        self.settings = settings            # RetrievalSettings
        self.index_dir = Path(index_dir)
        self.chunks = chunks
        self.embedder = embedder
        self.glossary_fn = glossary_fn
        self._rw = RWLock()
        self._update_lock = threading.Lock()
        self._state: _State | None = None
        self._vectors: FaissVectorStore | None = None
        self._tokenizer: Tokenizer | None = None
        self._glossary_id: int | None = None
        self._save_lock = threading.Lock()
        self._saved_generation = -1
        self._save_thread: threading.Thread | None = None

    # -- paths & helpers ------------------------------------------------------------------
    @property
    def vector_path(self) -> Path:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", self.embedder.model_id)
        return self.index_dir / f"vectors-{safe}.faiss"

    @property
    def thresholds(self) -> tuple[float, float]:
        """(min_score with keyword support, min_score for dense-only passages)."""
        default = default_min_score(self.embedder.model_id)
        s = self.settings
        return (float(s.min_score) if s.min_score is not None else default[0],
                float(s.min_score_dense_only) if s.min_score_dense_only is not None else default[1])

    def _current_tokenizer(self) -> Tokenizer:
        glossary = self.glossary_fn() if self.glossary_fn else None
        if self._tokenizer is None or id(glossary) != self._glossary_id:
            words = user_words(glossary) if glossary is not None else []
            tok = Tokenizer(words, bigrams=self.settings.chinese_bigrams)
            if self._tokenizer is None or tok.signature != self._tokenizer.signature:
                self._tokenizer = tok
            self._glossary_id = id(glossary)
        return self._tokenizer

    def _new_store(self, n: int) -> FaissVectorStore:
        s = self.settings
        kind = "hnsw" if n >= s.hnsw_threshold else "flat"
        return FaissVectorStore(self.embedder.dim, kind, hnsw_m=s.hnsw_m, ef_construction=s.hnsw_ef_construction,
                                ef_search=s.hnsw_ef_search, use_gpu=s.use_gpu)

    # -- keeping in sync ------------------------------------------------------------------
    def sync(self) -> int:
        """Bring the indexes up to the chunk store's generation; returns that generation."""
        generation = self.chunks.generation()
        state = self._state
        if state is not None and state.generation == generation and \
                self._current_tokenizer().signature == state.tokenizer_sig:
            return generation
        with self._update_lock:
            generation = self.chunks.generation()
            tokenizer = self._current_tokenizer()
            state = self._state
            if state is None:
                self._load_or_build(generation, tokenizer)
            elif state.generation != generation or state.tokenizer_sig != tokenizer.signature:
                self._catch_up(state, generation, tokenizer)
        return generation

    def _load_or_build(self, generation: int, tokenizer: Tokenizer) -> None:
        vectors, vec_gen = None, None
        if self.vector_path.exists():
            try:
                vectors, meta = FaissVectorStore.load(self.vector_path, use_gpu=self.settings.use_gpu)
                if meta.get("model_id") != self.embedder.model_id or vectors.dim != self.embedder.dim:
                    log.warning("vector index %s is for another embedder; rebuilding", self.vector_path)
                    vectors = None
                elif meta.get("store_id") != self.chunks.store_id:
                    log.warning("vector index %s was built from another chunk store; rebuilding", self.vector_path)
                    vectors = None
                else:
                    vec_gen = int(meta.get("generation", -1))
                    self._saved_generation = vec_gen      # the file already holds this generation
            except StoreError as exc:
                # The vectors themselves live in the chunk store: rebuilding is always possible.
                log.warning("%s — rebuilding from the chunk store", exc)
                vectors = None
        # Keyword index and metadata from the chunks (one pass).
        ids, texts, rows = [], [], []
        for rowid, chunk in self.chunks.iter_chunks():
            ids.append(int(rowid))
            texts.append(chunk.text)
            rows.append((int(rowid), chunk.source, chunk.access_groups))
        keyword = BM25Index.build(tokenizer, ids, texts)
        meta_table = MetaTable.build(rows)
        if vectors is not None and vec_gen != generation:
            changes = self.chunks.changes_since(vec_gen)
            if changes is None:
                vectors = None
            else:
                self._apply_vectors(vectors, list(changes.added_rowids), list(changes.removed_rowids))
        if vectors is None:
            vectors = self._build_vectors()
        # Chunks without a vector for this embedder stay keyword-searchable only.
        with self._rw.write():
            self._vectors = vectors
            self._state = _State(generation, keyword, meta_table, tokenizer.signature)
        self._persist(generation)
        log.info("retriever ready: %d chunks, %d vectors (%s), generation %d",
                 len(keyword), len(vectors), vectors.kind, generation)

    def _build_vectors(self) -> FaissVectorStore:
        rowids, matrix = self.chunks.vectors(self.embedder.model_id)
        rowids = np.asarray(rowids, dtype=np.int64)
        store = self._new_store(len(rowids))
        if len(rowids):
            store.add(rowids, np.asarray(matrix, dtype=np.float32))
        return store

    def _apply_vectors(self, store: FaissVectorStore, added: list[int], removed: list[int]) -> None:
        if removed:
            store.remove(np.asarray(removed, dtype=np.int64))
        if added:
            ids, x = _as_vectors(self.chunks.vectors_for(self.embedder.model_id, added), added)
            if len(ids):
                store.add(ids, x)

    def _catch_up(self, state: _State, generation: int, tokenizer: Tokenizer) -> None:
        changes = self.chunks.changes_since(state.generation) if state.generation != generation else None
        if state.generation != generation and changes is None:
            log.info("chunk store history unavailable since generation %d: rebuilding", state.generation)
            self._load_or_build(generation, tokenizer)
            return
        added = list(changes.added_rowids) if changes else []
        removed = list(changes.removed_rowids) if changes else []
        generation = int(changes.generation) if changes else generation
        chunk_map = fetch_chunks(self.chunks, added)
        if tokenizer.signature != state.tokenizer_sig:
            # The glossary changed: every text is re-tokenised with the new user words.
            texts = {int(r): c.text for r, c in self.chunks.iter_chunks()}
            keyword = BM25Index.build(tokenizer, list(texts), list(texts.values()))
        else:
            keyword = state.keyword.updated(list(chunk_map), [c.text for c in chunk_map.values()], removed)
        meta = state.meta.updated(((r, c.source, c.access_groups) for r, c in chunk_map.items()), removed)
        vectors = self._vectors
        rebuilt = None
        if vectors.kind == "flat" and len(vectors) + len(added) >= self.settings.hnsw_threshold:
            rebuilt = self._build_vectors()        # grew past the threshold: switch to HNSW
        with self._rw.write():
            if rebuilt is not None:
                self._vectors = rebuilt
            else:
                self._apply_vectors(vectors, added, removed)
                if vectors.kind == "hnsw" and vectors.tombstones > self.settings.compact_share * max(1, len(vectors)):
                    vectors.compact()
            self._state = _State(generation, keyword, meta, tokenizer.signature)
        self._persist(generation)

    def _persist(self, generation: int) -> None:
        """Save the vector index. Large indexes are written by a background thread, so the
        search that applied an ingestion's changes does not wait for a gigabyte-sized write."""
        if len(self._vectors) < BACKGROUND_SAVE_FROM:
            self._save(generation)
        else:
            self._save_thread = threading.Thread(target=self._save, args=(generation,), name="kb-index-save",
                                                 daemon=True)
            self._save_thread.start()

    def flush(self, timeout: float | None = None) -> None:
        """Wait until a background save of the vector index has finished (tests, shutdown)."""
        thread = self._save_thread
        if thread is not None:
            thread.join(timeout)

    def _save(self, generation: int) -> None:
        with self._save_lock:
            if generation <= self._saved_generation:
                return
            try:
                with self._rw.read():   # serialise in memory under the lock; write to disk outside it
                    current = self._state.generation if self._state else generation
                    data, meta = self._vectors.snapshot({"generation": current, "model_id": self.embedder.model_id,
                                                         "store_id": self.chunks.store_id})
                FaissVectorStore.write_snapshot(self.vector_path, data, meta)
                self._saved_generation = current
            except OSError as exc:
                log.warning("could not save the vector index to %s: %s", self.vector_path, exc)

    # -- searching ------------------------------------------------------------------------
    def retrieve(self, query: str, principal: Principal, *, top_k: int | None = None,
                 filters: SearchFilters | None = None, expanded_query: str | None = None,
                 expansion: str = "") -> RetrievalResult:
        """Hybrid search for ``expanded_query`` (the question plus glossary expansions)."""
        started = time.perf_counter()
        k = int(top_k or self.settings.top_k)
        text = expanded_query or query
        self.sync()
        notes: list[str] = []
        try:
            qvec = np.asarray(self.embedder.embed_query(text), dtype=np.float32)
        except EmbeddingError as exc:
            log.warning("embedder failed, keyword search only: %s", exc)
            qvec, notes = None, [f"keyword search only: {exc.message}"]
        depth = max(self.settings.candidates, k)
        with self._rw.read():
            state, vectors = self._state, self._vectors
            allowed = state.meta.allowed(principal, filters)
            d_ids = np.zeros(0, np.int64)
            if qvec is not None and len(vectors):
                d_ids, _ = vectors.search(qvec, depth, allowed)
            k_ids, k_scores = state.keyword.search(text, depth, allowed)
            fused = rrf([d_ids.tolist(), k_ids.tolist()], k=self.settings.rrf_k,
                        weights=[self.settings.dense_weight, self.settings.keyword_weight])[:k]
            top = np.asarray([i for i, _ in fused], dtype=np.int64)
            cos = vectors.scores_for(qvec, top) if qvec is not None and len(top) else np.full(len(top), np.nan)
        d_rank = {int(i): r for r, i in enumerate(d_ids.tolist(), 1)}
        k_rank = {int(i): r for r, i in enumerate(k_ids.tolist(), 1)}
        k_score = {int(i): float(s) for i, s in zip(k_ids.tolist(), k_scores.tolist())}
        chunk_map = fetch_chunks(self.chunks, top.tolist())
        hits = []
        for (rowid, fscore), c in zip(fused, cos):
            chunk = chunk_map.get(int(rowid))
            if chunk is None:      # removed by an ingestion since the search: skip it
                continue
            # The index filtered already; checking the chunk itself too means a chunk committed
            # between two snapshot reads (unknown to the metadata) can never reach a user it is not for.
            if not principal.can_see(chunk.access_groups) or (filters is not None and not filters.matches(chunk.source)):
                continue
            hits.append(Hit(int(rowid), chunk, float(0.0 if np.isnan(c) else c), float(fscore),
                            d_rank.get(int(rowid)), k_rank.get(int(rowid)), k_score.get(int(rowid))))
        low, dense_only = self.thresholds
        if qvec is None:      # keyword-only fallback: any keyword match counts
            found = any(h.keyword_rank is not None for h in hits)
        else:
            found = any(is_relevant(h.score, h.keyword_rank is not None, low, dense_only) for h in hits)
        return RetrievalResult(query, text, expansion, tuple(hits), found, low, dense_only,
                               (time.perf_counter() - started) * 1000,
                               filters.to_dict() if filters else None, tuple(notes))

    def stats(self) -> dict[str, Any]:
        self.sync()
        with self._rw.read():
            return {"generation": self._state.generation, "chunks": len(self._state.keyword),
                    "vectors": len(self._vectors), "vector_index": self._vectors.kind,
                    "tombstones": self._vectors.tombstones, "model_id": self.embedder.model_id,
                    "min_score": self.thresholds[0], "min_score_dense_only": self.thresholds[1],
                    "index_file": str(self.vector_path)}

"""The Retriever: hybrid dense + keyword search kept in sync with the chunk store.

It talks to its two indexes only through the :class:`~kb_agent.index.backend.VectorIndex`
and :class:`~kb_agent.index.backend.KeywordIndex` seams (FAISS / bm25s by default, Milvus
with ``retrieval.vector_backend`` / ``keyword_backend: milvus``; kb_agent/index/factory.py)
and keeps what is the same for every backend:

- the sync: it compares the chunk store's generation with its own and feeds both indexes
  the changes (added / removed rowids); ``changes_since`` returning None (history gone)
  means a rebuild, as does an index that cannot open what it persisted. A changed glossary
  re-tokenises the keyword index.
- consistency: readers hold a shared lock while they search; an update prepares the slow
  part first and then commits the vector and keyword changes together under the exclusive
  lock, so a search sees one generation, never a mix.
- reciprocal-rank fusion, a second access check on every returned chunk, and the relevance
  decision (kb_agent/index/relevance.py) over a fixed background sample of the corpus.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Protocol, Sequence

import numpy as np

from kb_agent.access import Principal
from kb_agent.bilingual import load_bridge
from kb_agent.chunk import Chunk
from kb_agent.errors import EmbeddingError
from kb_agent.index.backend import IndexIdentity, IndexRow, KeywordIndex, Scope, VectorIndex, as_rows, no_commit
from kb_agent.i18n import language_of
from kb_agent.index.factory import create_keyword_index, create_vector_index
from kb_agent.index.filters import SearchFilters
from kb_agent.index.fusion import keep_leaders, rrf
from kb_agent.index.navigation import is_navigation
from kb_agent.index.relevance import (Background, Passage, RelevancePolicy, Term, decide, is_chinese,
                                      mentioned_in, passage_text, question_terms, weighted)
from kb_agent.index.result import Hit, RetrievalResult
from kb_agent.index.rwlock import RWLock
from kb_agent.text import Tokenizer, tokenizer_for

if TYPE_CHECKING:
    from kb_agent.glossary.terms import TermUnderstanding

log = logging.getLogger(__name__)

#: Candidates fetched beyond 2×top_k, so that navigation chunks can yield their places.
NAV_SLACK = 5


def _navigation(chunk: Chunk | None) -> bool:
    return chunk is not None and is_navigation(chunk.text)


class ChunkSource(Protocol):
    """What the Retriever needs from the chunk store (kb_agent/store/chunks.py)."""

    store_id: str
    def generation(self) -> int: ...
    def iter_chunks(self) -> Iterable[tuple[int, Chunk]]: ...
    def get_by_rowids(self, rowids: Sequence[int]) -> Any: ...
    def vectors(self, model_id: str) -> tuple[np.ndarray, np.ndarray]: ...
    def vectors_for(self, model_id: str, rowids: Sequence[int]) -> Any: ...
    def changes_since(self, generation: int) -> Any: ...
    def sample_rowids(self, n: int) -> Sequence[int]: ...


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


def bridged_query(terms: Sequence[Term]) -> str:
    """The question's words in the other language (each term's translations): a keyword search
    of their own, fused with the others as the same kind of evidence, so that a passage written
    in the other language can be found by its words too."""
    return " ".join(dict.fromkeys(w for t in terms for w in t.translations))


class Retriever:
    def __init__(self, settings, index_dir: Path, chunks: ChunkSource, embedder,
                 glossary_fn: Callable[[], Any] | None = None, *,
                 vector_index: VectorIndex | None = None, keyword_index: KeywordIndex | None = None):
        self.settings = settings            # RetrievalSettings
        self.index_dir = Path(index_dir)
        self.chunks = chunks
        self.embedder = embedder
        self.glossary_fn = glossary_fn
        self._rw = RWLock()
        self._update_lock = threading.Lock()
        self._generation: int | None = None     # what both indexes hold; None: not loaded yet
        self._vector_index = vector_index
        self._keyword_index = keyword_index
        self._glossary_id: object = object()    # never the id of a glossary
        self._words_changed = False
        self._background: tuple[int, Background] | None = None   # (generation, sample)
        self._question_tokenizer: tuple[int, Tokenizer] | None = None  # (glossary id, tokenizer)

    # -- the two indexes (built on first use: the chunk store's id is read then) -----------
    @property
    def vectors(self) -> VectorIndex:
        if self._vector_index is None:
            self._vector_index = create_vector_index(self.settings, self.index_dir, self._identity())
        return self._vector_index

    @property
    def keywords(self) -> KeywordIndex:
        if self._keyword_index is None:
            self._keyword_index = create_keyword_index(self.settings, self.index_dir, self._identity())
        return self._keyword_index

    def _identity(self) -> IndexIdentity:
        return IndexIdentity(self.embedder.model_id, int(self.embedder.dim), self.chunks.store_id)

    @property
    def vector_path(self) -> Path | None:
        """The vector index file where the backend keeps one (FAISS), else None."""
        location = self.vectors.stats().get("index_file")
        return Path(location) if location else None

    @property
    def policy(self) -> RelevancePolicy:
        r = self.settings.relevance
        return RelevancePolicy(r.min_coverage, r.partial_coverage, r.partial_z, r.dense_alone_z)

    def background(self) -> Background:
        """The corpus sample of the relevance decision, re-drawn when the chunk store changed."""
        generation = self._generation if self._generation is not None else -1
        current = self._background
        if current is not None and current[0] == generation:
            return current[1]
        rowids = list(self.chunks.sample_rowids(self.settings.relevance.background_sample))
        texts = fetch_chunks(self.chunks, rowids)
        vectors = None
        try:
            ids, x = _as_vectors(self.chunks.vectors_for(self.embedder.model_id, rowids), rowids)
            vectors = x if len(ids) else None
        except Exception as exc:   # a store without vectors: coverage alone decides
            log.debug("no background vectors: %s", exc)
        background = Background([passage_text(texts[r]) for r in rowids if r in texts], vectors)
        self._background = (generation, background)
        return background

    def _tokenizer(self) -> Tokenizer:
        """jieba with the glossary's words, for the question's terms: the keyword index's own
        tokenizer where it has one (bm25s), loaded once per glossary version."""
        glossary = self.glossary_fn() if self.glossary_fn else None
        current = self._question_tokenizer
        if current is None or current[0] != id(glossary):
            words = user_words(glossary) if glossary is not None else []
            current = self._question_tokenizer = (id(glossary), tokenizer_for(words, bigrams=self.settings.chinese_bigrams))
        return current[1]

    def _glossary_changed(self) -> bool:
        """Hand the keyword index the glossary's words when the glossary object changed;
        True when the keyword index must be rebuilt for them."""
        glossary = self.glossary_fn() if self.glossary_fn else None
        if id(glossary) != self._glossary_id:
            self._glossary_id = id(glossary)
            if self.keywords.use_words(user_words(glossary) if glossary is not None else []):
                self._words_changed = True
        return self._words_changed

    # -- keeping in sync ------------------------------------------------------------------
    def sync(self) -> int:
        """Bring the indexes up to the chunk store's generation; returns that generation."""
        generation = self.chunks.generation()
        if self._generation == generation and not self._glossary_changed():
            return generation
        with self._update_lock:
            generation = self.chunks.generation()
            relex = self._glossary_changed()
            if self._generation is None:
                self._load_or_build(generation)
            elif self._generation != generation or relex:
                self._catch_up(generation, relex)
        return generation

    def _rows(self, generation: int) -> Callable[[], list[IndexRow]]:
        """All rows of the chunk store, read once and only if an index asks for them."""
        cache: list[list[IndexRow]] = []

        def rows() -> list[IndexRow]:
            if not cache:
                cache.append(as_rows(self.chunks.iter_chunks(), generation))
            return cache[0]
        return rows

    def _load_or_build(self, generation: int) -> None:
        rows = self._rows(generation)
        vec_commit = self._open_vectors(self.vectors, rows, generation)
        self._words_changed = False
        kw_gen = self.keywords.open()
        kw_commit = self._catch_up_index(kw_gen, generation,
                                         lambda: self.keywords.rebuild(rows()),
                                         lambda added, removed: self.keywords.apply(self._rows_for(added, generation),
                                                                                    removed))
        with self._rw.write():
            vec_commit()
            kw_commit()
            self._generation = generation
        self._after_change(generation)
        log.info("retriever ready: %d chunks, %d vectors (%s), generation %d",
                 len(self.keywords), len(self.vectors), self.vectors.stats().get("kind"), generation)

    def _open_vectors(self, vectors: VectorIndex, rows: Callable[[], list[IndexRow]], generation: int):
        """Open the persisted vector index and catch it up, or prepare a rebuild; the commit."""
        def apply(added, removed):
            self._apply_vectors(added, removed, self._rows_for(added, generation))
            return no_commit
        return self._catch_up_index(vectors.open(rows), generation, lambda: self._rebuild_vectors(rows), apply)

    def _catch_up_index(self, opened: int | None, generation: int, rebuild, apply):
        """An index that opened at ``opened`` gets the changes since; one that could not
        (or whose history is gone) is rebuilt. Returns the commit."""
        if opened is not None and opened != generation:
            changes = self.chunks.changes_since(opened)
            if changes is None:
                log.info("chunk store history unavailable since generation %d: rebuilding", opened)
                opened = None
            else:
                return apply(list(changes.added_rowids), list(changes.removed_rowids))
        if opened is None:
            return rebuild()
        return no_commit

    def _rebuild_vectors(self, rows: Callable[[], list[IndexRow]]):
        rowids, matrix = self.chunks.vectors(self.embedder.model_id)
        by_id = {r.rowid: r for r in rows()}
        keep = [i for i, r in enumerate(np.asarray(rowids, dtype=np.int64).tolist()) if r in by_id]
        x = np.asarray(matrix, dtype=np.float32)[keep] if keep else np.zeros((0, self.embedder.dim), np.float32)
        return self.vectors.rebuild([by_id[int(rowids[i])] for i in keep], x)

    def _rows_for(self, rowids: Sequence[int], generation: int) -> list[IndexRow]:
        """Rows of these rowids in the given order (those still in the chunk store)."""
        found = fetch_chunks(self.chunks, rowids)
        return as_rows(((int(r), found[int(r)]) for r in rowids if int(r) in found), generation)

    def _apply_vectors(self, added: list[int], removed: list[int], rows: list[IndexRow]) -> None:
        """Vector changes: ``rows`` are the added chunks' rows (those without a vector for this
        embedder stay keyword-only)."""
        if removed:
            self.vectors.delete(removed)
        if added:
            ids, x = _as_vectors(self.chunks.vectors_for(self.embedder.model_id, added), added)
            by_id = {r.rowid: r for r in rows}
            keep = [i for i, r in enumerate(ids.tolist()) if r in by_id]
            if keep:
                self.vectors.upsert([by_id[int(ids[i])] for i in keep], x[keep])

    def _catch_up(self, generation: int, relex: bool) -> None:
        changes = self.chunks.changes_since(self._generation) if self._generation != generation else None
        if self._generation != generation and changes is None:
            log.info("chunk store history unavailable since generation %d: rebuilding", self._generation)
            self._rebuild_all(generation)
            return
        added = list(changes.added_rowids) if changes else []
        removed = list(changes.removed_rowids) if changes else []
        generation = int(changes.generation) if changes else generation
        rows = self._rows_for(added, generation)
        if relex:
            # The glossary changed: every text is re-tokenised with the new user words.
            self._words_changed = False
            kw_commit = self.keywords.rebuild(as_rows(self.chunks.iter_chunks(), generation))
        else:
            kw_commit = self.keywords.apply(rows, removed)
        with self._rw.write():
            self._apply_vectors(added, removed, rows)
            kw_commit()
            self._generation = generation
        self._after_change(generation)

    def _rebuild_all(self, generation: int) -> None:
        """Both indexes from scratch while searches go on; swapped in together."""
        rows = self._rows(generation)
        self._words_changed = False
        vec_commit, kw_commit = self._rebuild_vectors(rows), self.keywords.rebuild(rows())
        with self._rw.write():
            vec_commit()
            kw_commit()
            self._generation = generation
        self._after_change(generation)

    def _after_change(self, generation: int) -> None:
        """Housekeeping of the vector index (off the lock, then swapped in), then checkpoints."""
        commit = self.vectors.maintain()
        if commit is not None:
            with self._rw.write():
                commit()
        self.vectors.checkpoint(generation)
        self.keywords.checkpoint(generation)

    def warm_up(self) -> None:
        """Load the indexes and the dictionary bridge before the first question needs them."""
        self.sync()
        if self.settings.bridge_languages:
            load_bridge()

    def flush(self, timeout: float | None = None) -> None:
        """Wait until a background save of the vector index has finished (tests, shutdown)."""
        if self._vector_index is not None:
            self._vector_index.flush(timeout)

    # -- searching ------------------------------------------------------------------------
    def retrieve_understood(self, query: str, principal: Principal, terms: "TermUnderstanding", *,
                            top_k: int | None = None, filters: SearchFilters | None = None) -> RetrievalResult:
        """:meth:`retrieve` for a question whose company terms are understood already: searches
        the glossary-expanded query, and every name of a term counts as mentioning it."""
        names = [(m.text, *(n for e in entries for n in e.names())) for m, entries in terms.chosen]
        return self.retrieve(query, principal, top_k=top_k, filters=filters, expanded_query=terms.expanded_query,
                             expansion=terms.describe(), glossary_names=names)

    def retrieve(self, query: str, principal: Principal, *, top_k: int | None = None,
                 filters: SearchFilters | None = None, expanded_query: str | None = None,
                 expansion: str = "", glossary_names: Sequence[Sequence[str]] = ()) -> RetrievalResult:
        """Hybrid search for ``expanded_query`` (the question plus glossary expansions).
        ``glossary_names``: for each company term in the question, all its names (the term as
        written first): any of them counts as mentioning it in the relevance decision."""
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
        scope = Scope(principal, filters)
        terms = self.question_terms(query, glossary_names)
        bridged = bridged_query(terms)
        with self._rw.read():
            vectors, keywords = self.vectors, self.keywords
            d_ids = np.zeros(0, np.int64)
            if qvec is not None and len(vectors):
                d_ids, _ = vectors.search(qvec, depth, scope)
            k_ids, k_scores = keywords.search(text, depth, scope)
            b_ids = keywords.search(bridged, depth, scope)[0] if bridged else np.zeros(0, np.int64)
            lists = [d_ids.tolist(), k_ids.tolist(), b_ids.tolist()]
            fused = rrf(lists, k=self.settings.rrf_k, groups=["dense", "keyword", "keyword"],
                        weights=[self.settings.dense_weight, self.settings.keyword_weight, self.settings.bridge_weight])
            # Each search's best hit stays in the top k; a few more than k are kept: navigation
            # chunks (tables of contents …) found among them go last.
            fused = keep_leaders(fused, [ids[0] for ids in lists if ids], k)[:2 * k + NAV_SLACK]
            top = np.asarray([i for i, _ in fused], dtype=np.int64)
            cos = vectors.scores_for(qvec, top) if qvec is not None and len(top) else np.full(len(top), np.nan)
        d_rank = {int(i): r for r, i in enumerate(d_ids.tolist(), 1)}
        k_rank = {int(i): r for r, i in enumerate(k_ids.tolist(), 1)}
        k_score = {int(i): float(s) for i, s in zip(k_ids.tolist(), k_scores.tolist())}
        b_rank = {int(i): r for r, i in enumerate(b_ids.tolist(), 1)}
        chunk_map = fetch_chunks(self.chunks, top.tolist())
        if self.settings.demote_navigation:
            order = sorted(range(len(fused)), key=lambda n: _navigation(chunk_map.get(int(fused[n][0]))))  # stable
            fused, cos = [fused[n] for n in order], [cos[n] for n in order]
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
                            d_rank.get(int(rowid)), k_rank.get(int(rowid)), k_score.get(int(rowid)),
                            b_rank.get(int(rowid))))
            if len(hits) == k:
                break
        decision = self.decide(query, hits, qvec, terms)
        return RetrievalResult(query, text, expansion, tuple(hits), decision.found, decision,
                               (time.perf_counter() - started) * 1000,
                               filters.to_dict() if filters else None, tuple(notes))

    def question_terms(self, query: str, glossary_names: Sequence[Sequence[str]] = ()):
        """The question's content terms, weighted against this corpus, with their words in the
        other language where the bridge is on (relevance.py, bilingual.py)."""
        tok = self._tokenizer()
        bridge = load_bridge() if self.settings.bridge_languages else None
        return weighted(question_terms(tok.words(query), glossary_names, tok.specificity, tok.pieces,
                                       bridge.translate if bridge is not None else None),
                        self.background())

    def mentions(self, query: str) -> bool:
        """Does the corpus mention any of the question's specific words? (calibration negatives)"""
        self.sync()
        return mentioned_in(self.question_terms(query), self.background())

    def decide(self, query: str, hits: Sequence[Hit], qvec: np.ndarray | None, terms: Sequence[Term]):
        """The relevance decision on ``hits`` for the question's ``terms`` (:meth:`question_terms`;
        kb_agent/index/relevance.py); without a query vector (keyword-only fallback) coverage
        alone decides."""
        background = self.background()
        passages = [Passage.of(h.rowid, h.chunk, h.score if qvec is not None else None) for h in hits]
        return decide(passages, terms, background.cosine_stats(qvec), self.policy, language_of(query),
                      question_chinese=is_chinese(query))

    def stats(self) -> dict[str, Any]:
        self.sync()
        with self._rw.read():
            vec, kw = self.vectors.stats(), self.keywords.stats()
            return {"generation": self._generation, "chunks": len(self.keywords), "vectors": len(self.vectors),
                    "vector_backend": vec.get("backend"), "keyword_backend": kw.get("backend"),
                    "vector_index": vec.get("kind"), "tombstones": vec.get("tombstones", 0),
                    "model_id": self.embedder.model_id,
                    "index_file": vec.get("index_file") or vec.get("location")}

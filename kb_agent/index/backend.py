"""The two search seams the :class:`~kb_agent.index.retriever.Retriever` talks to.

Every search backend (FAISS, bm25s, Milvus) is a cache of the chunk store: the Retriever
feeds it rows from the chunk store's change log and asks it to search *within a scope*. What
a backend does inside (HNSW rebuilds, tombstones, files, collections, filter expressions) is
its own business; the Retriever only calls what is declared here, so a new backend is a new
module plus a line in :mod:`kb_agent.index.factory`, and the shared contract tests
(tests/index/) tell whether it behaves.

Writes are two-phase where that matters: ``rebuild`` / ``apply`` / ``maintain`` do the slow
work while searches go on and return a :data:`Commit`, a quick step the Retriever runs under
its exclusive lock so that a search sees every index at one generation, never a mix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from kb_agent.access import Principal
from kb_agent.index.filters import SearchFilters, file_type

#: Makes a prepared change visible; cheap, run under the Retriever's write lock.
Commit = Callable[[], None]


def no_commit() -> None:
    """The commit of a change that was visible as soon as it was written."""


@dataclass(frozen=True)
class IndexIdentity:
    """What a persisted index must have been built for to be reused: the embedder (vectors of
    another model are meaningless) and the chunk store (rowids of a deleted and re-created
    store point at other chunks)."""

    model_id: str
    dim: int
    store_id: str


@dataclass(frozen=True)
class IndexRow:
    """One chunk as an index sees it: its stable rowid, its text and what a scope filters on."""

    rowid: int
    text: str
    source: str
    access_groups: tuple[str, ...]
    generation: int = 0          # the chunk-store generation it was indexed at (Milvus keeps it per row)

    @property
    def file_type(self) -> str:
        return file_type(self.source)

    @property
    def folders(self) -> tuple[str, ...]:
        """Every folder above the source ("hr/policies/a.pdf" → "hr", "hr/policies"), so a
        folder filter is an exact membership test, not a string prefix."""
        parts = PurePosixPath(self.source).parts[:-1]
        return tuple("/".join(parts[: i + 1]) for i in range(len(parts)))


@dataclass(frozen=True)
class Scope:
    """Who searches and under which filters. Each backend turns it into its own form (a FAISS
    row-id selector, a BM25 mask, a Milvus filter expression) applied *inside* the search, so
    the top k are the best k the principal may see, never what is left after truncation."""

    principal: Principal
    filters: SearchFilters | None = None

    def allows(self, source: str, access_groups: Sequence[str]) -> bool:
        return self.principal.can_see(tuple(access_groups)) and \
            (self.filters is None or self.filters.matches(source))


class VectorIndex(Protocol):
    """Dense search over L2-normalised vectors keyed by chunk rowid (scores are cosines)."""

    def open(self, rows: Callable[[], Sequence[IndexRow]]) -> int | None:
        """Load what was persisted; the chunk-store generation it holds, or None when there is
        nothing usable (missing, broken, built for another embedder or chunk store). ``rows``
        reads the chunk store's current rows, for a backend that keeps its scope metadata in
        memory (FAISS); one that persists it (Milvus) never calls it."""

    def rebuild(self, rows: Sequence[IndexRow], vectors: np.ndarray) -> Commit:
        """Replace the whole contents (``vectors`` aligned with ``rows``)."""

    def upsert(self, rows: Sequence[IndexRow], vectors: np.ndarray) -> None:
        """Add or replace these rows; run under the Retriever's write lock."""

    def delete(self, rowids: Sequence[int]) -> None:
        """Remove these rowids (unknown ones are ignored); under the write lock."""

    def search(self, query: np.ndarray, k: int, scope: Scope) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` (rowids, cosines) the scope lets through, best first."""

    def scores_for(self, query: np.ndarray, rowids: np.ndarray) -> np.ndarray:
        """Exact cosine of ``query`` to each rowid (NaN for unknown ones)."""

    def maintain(self) -> Commit | None:
        """Housekeeping after changes (FAISS: flat → HNSW, compaction); None when nothing to do."""

    def checkpoint(self, generation: int) -> None:
        """Persist the contents as of ``generation`` (may finish in the background)."""

    def flush(self, timeout: float | None = None) -> None:
        """Wait for a background checkpoint (tests, shutdown)."""

    def __len__(self) -> int: ...

    def stats(self) -> dict[str, Any]:
        """For `kb-agent status` and the admin console: at least ``backend`` and ``kind``."""


class KeywordIndex(Protocol):
    """Keyword (BM25) search over chunk texts, glossary-aware."""

    def use_words(self, words: Sequence[str]) -> bool:
        """The company terms that must never be split; True when the index has to be rebuilt
        for them (the glossary changed since it was built)."""

    def open(self) -> int | None:
        """The persisted generation, or None: rebuild (an in-memory index always says None)."""

    def rebuild(self, rows: Sequence[IndexRow]) -> Commit:
        """Replace the whole contents."""

    def apply(self, added: Sequence[IndexRow], removed: Sequence[int]) -> Commit:
        """Prepare adding / replacing ``added`` and dropping ``removed`` rowids."""

    def search(self, query: str, k: int, scope: Scope) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` (rowids, scores > 0) the scope lets through, best first."""

    def checkpoint(self, generation: int) -> None:
        """Record that the contents are those of ``generation``."""

    def __len__(self) -> int: ...

    def stats(self) -> dict[str, Any]: ...


def as_rows(pairs, generation: int = 0) -> list[IndexRow]:
    """(rowid, Chunk) pairs → :class:`IndexRow` list."""
    return [IndexRow(int(r), c.text, c.source, tuple(c.access_groups), generation) for r, c in pairs]

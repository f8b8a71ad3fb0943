"""KnowledgeBase: built once from Settings, the one object tools, router, CLI and UI talk to.

It owns the live glossary, the usage log, the stored conversations and feedback, the fact
service (curated facts and spreadsheet tables), the chunk store, the embedder and the
document retriever. Heavy parts are built once, on first use (thread-safe), never per query;
a part that cannot load raises a typed error while the others keep working (glossary and
facts without documents, for instance).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Iterable

from kb_agent.access import LOCAL_ADMIN, Principal
from kb_agent.config import Settings
from kb_agent.glossary.index import Glossary, LookupResult
from kb_agent.glossary.store import GlossaryStore
from kb_agent.glossary.terms import TermUnderstanding, understand
from kb_agent.usage import UsageLog


class KnowledgeBase:
    def __init__(self, settings: Settings):
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.glossary_store = GlossaryStore(settings.glossary.dir, settings.glossary.reload_check_s,
                                            settings.glossary.fuzzy_cutoff, settings.glossary.max_file_mb)
        self.usage = UsageLog(settings.usage_db)
        self._lock = threading.RLock()
        self._parts: dict[str, Any] = {}

    def _part(self, name: str, build: Callable[[], Any]) -> Any:
        """Build a heavy part once (under a lock: two first queries must not load it twice)."""
        part = self._parts.get(name)
        if part is None:
            with self._lock:
                part = self._parts.get(name)
                if part is None:
                    part = self._parts[name] = build()
        return part

    # -- glossary ------------------------------------------------------------------------
    @property
    def glossary(self) -> Glossary:
        return self.glossary_store.current()

    def lookup_term(self, query: str, principal: Principal = LOCAL_ADMIN) -> LookupResult:
        """Glossary lookup; a miss that looks like an acronym is logged for the admins."""
        result = self.glossary.lookup(query)
        if not result.found:
            self.usage.record_unknown_terms(self.understand(query).unknown or _as_acronym(query), query)
        return result

    def understand(self, question: str) -> TermUnderstanding:
        """Known terms in a question and their expansions (used before every search)."""
        return understand(question, self.glossary)

    def glossary_words(self) -> list[str]:
        """Terms, aliases and Chinese names: tokenisers keep them whole (jieba user words)."""
        g = self.glossary
        return g.terms() + sorted({n for e in g.entries for n in e.chinese_names()})

    @property
    def ingest_hooks(self) -> list:
        """Stores that follow ingestion (spreadsheets -> SQLite tables); built on first use so a
        broken tables database cannot stop the glossary or documents from loading."""
        return self._part("ingest_hooks", lambda: [self.facts.ingest_hook()])

    # -- conversations and feedback (kb_agent/conversations.py, kb_agent/feedback.py) ----------
    @property
    def conversations(self):
        """Each user's stored chat conversations (``data_dir/conversations.sqlite``)."""
        from kb_agent.conversations import ConversationStore

        return self._part("conversations", lambda: ConversationStore(self.settings.conversations_db))

    @property
    def feedback(self):
        """Thumbs up/down and comments on answers (``data_dir/feedback.sqlite``)."""
        from kb_agent.feedback import FeedbackStore

        return self._part("feedback", lambda: FeedbackStore(self.settings.feedback_db))

    # -- embeddings and the chunk store (kb_agent/embed, kb_agent/store) ---------------------
    @property
    def embedder(self):
        """The configured embedder, shared by ingestion, retrieval and fact matching."""
        def build():
            from kb_agent.embed.factory import create_embedder

            s = self.settings.embedder
            if s.backend == "dashscope" and s.api_key is None and self.settings.dashscope.api_key:
                s = s.model_copy(update={"api_key": self.settings.dashscope.api_key})
            return create_embedder(s)        # the model itself loads on the first embed

        return self._part("embedder", build)

    @property
    def chunk_store(self):
        """The chunk store at ``data_dir/kb.sqlite3`` (StoreError if unusable)."""
        from kb_agent.store.chunks import ChunkStore

        return self._part("chunk_store", lambda: ChunkStore(self.settings.data_dir / "kb.sqlite3"))

    # -- documents (kb_agent/ingest, kb_agent/index) ----------------------------------------
    def ingest(self, paths: Iterable[Path | str], progress=None):
        """Ingest files and folders -> :class:`kb_agent.ingest.report.IngestReport`.

        Incremental: unchanged files are skipped, edited ones replaced, deleted ones removed.
        A retriever already serving queries catches up right away, so no user pays for it.
        """
        from kb_agent.ingest.pipeline import Ingestor

        key = self.settings.dashscope.api_key
        ingestor = Ingestor(self.chunk_store, self.embedder, self.settings.ingest, hooks=self.ingest_hooks,
                            asr_api_key=key.get_secret_value() if key else None)
        report = ingestor.run([Path(p) for p in paths], progress=progress)
        self._sync_retriever()
        return report

    def remove_document(self, source: str) -> int:
        """Remove one ingested file (chunks, tables, index entries); returns chunks removed."""
        record = self.chunk_store.source(source)
        self.chunk_store.remove_source(source)
        for hook in self.ingest_hooks:
            hook.on_remove(source)
        self._sync_retriever()
        return record.chunks if record is not None else 0

    def _sync_retriever(self) -> None:
        retriever = self._parts.get("retriever")
        if retriever is not None:
            retriever.sync()

    @property
    def retriever(self):
        """The hybrid retriever; its indexes load once (StoreError if unusable)."""
        def build():
            from kb_agent.index.retriever import Retriever

            return Retriever(self.settings.retrieval, self.settings.data_dir / "index", self.chunk_store,
                             self.embedder, lambda: self.glossary)

        return self._part("retriever", build)

    def retrieve(self, query: str, principal: Principal = LOCAL_ADMIN, top_k: int | None = None,
                 filters=None, terms: TermUnderstanding | None = None):
        """Glossary-expanded hybrid search -> :class:`kb_agent.index.result.RetrievalResult`.
        ``terms``: the query's term understanding when the caller has it already."""
        from kb_agent.index.filters import SearchFilters

        if isinstance(filters, dict):
            filters = SearchFilters.from_dict(filters)
        terms = terms if terms is not None else self.understand(query)
        return self.retriever.retrieve_understood(query, principal, terms, top_k=top_k, filters=filters)

    # -- facts and tables (kb_agent/facts) -------------------------------------------------
    @property
    def facts(self):
        """The fact service: curated facts (YAML) and spreadsheet tables (SQLite)."""
        def build():
            from kb_agent.facts.service import FactService

            return FactService(self.settings, self.understand, self.glossary_words, lambda: self.embedder)

        return self._part("facts", build)

    def query_facts(self, question: str, principal: Principal = LOCAL_ADMIN, table: str | None = None,
                    filters=None, columns: list[str] | None = None, aggregate=None,
                    terms: TermUnderstanding | None = None):
        """Curated fact, table rows, or an aggregate over them (count, sum, avg… of a column,
        optionally grouped) -> :class:`kb_agent.facts.service.FactQueryResult`."""
        return self.facts.query(question, principal, table=table, filters=filters, columns=columns,
                                aggregate=aggregate, terms=terms)

    def fact_tables(self, principal: Principal = LOCAL_ADMIN) -> list[str]:
        """One line per table the principal may query: name, row count, columns and types."""
        return self.facts.describe_tables(principal)

    # -- start-up ----------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Load what the first question would otherwise wait for (web server start-up)."""
        self.facts.warm_up()
        if self.chunk_store.count():
            self.retriever.warm_up()


def _as_acronym(query: str) -> tuple[str, ...]:
    q = query.strip()
    return (q,) if 2 <= len(q) <= 10 and q.replace(".", "").replace("&", "").isalnum() and q.isascii() else ()

"""KnowledgeBase: built once from Settings, the one object tools, router, CLI and UI talk to.

It owns the live glossary and the usage log; the fact store and the document retriever
attach here as they land. Heavy things load here once, never per query.
"""

from __future__ import annotations

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
                                            settings.glossary.fuzzy_cutoff)
        self.usage = UsageLog(settings.usage_db)
        # Spreadsheets reach the table store through the ingestion pipeline's hooks.
        if not hasattr(self, "ingest_hooks"):
            self.ingest_hooks = []
        self.ingest_hooks.append(self.facts.ingest_hook())

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

    # -- documents (kb_agent/index) -----------------------------------------------------------
    @property
    def retriever(self):
        """The hybrid retriever, created on first use; its index loads once (StoreError if unusable)."""
        from kb_agent.index.retriever import retriever_for

        return retriever_for(self)

    def retrieve(self, query: str, principal: Principal = LOCAL_ADMIN, top_k: int | None = None,
                 filters=None):
        """Glossary-expanded hybrid search -> :class:`kb_agent.index.result.RetrievalResult`."""
        from kb_agent.index.filters import SearchFilters

        if isinstance(filters, dict):
            filters = SearchFilters.from_dict(filters)
        terms = self.understand(query)
        return self.retriever.retrieve(query, principal, top_k=top_k, filters=filters,
                                       expanded_query=terms.expanded_query, expansion=terms.describe())

    # -- facts and tables (kb_agent/facts) -------------------------------------------------
    @property
    def facts(self):
        """The fact service (curated facts + spreadsheet tables), created on first use."""
        service = self.__dict__.get("_facts")
        if service is None:
            from kb_agent.facts.service import FactService

            service = FactService(self.settings, self.understand, self._glossary_words, lambda: self.embedder)
            self.__dict__["_facts"] = service
        return service

    def query_facts(self, question: str, principal: Principal = LOCAL_ADMIN, table: str | None = None,
                    filters=None, columns: list[str] | None = None):
        """Curated fact, or table rows -> :class:`kb_agent.facts.service.FactQueryResult`."""
        return self.facts.query(question, principal, table=table, filters=filters, columns=columns)

    def fact_tables(self, principal: Principal = LOCAL_ADMIN) -> list[str]:
        """One line per table the principal may query: name, row count, columns and types."""
        return self.facts.describe_tables(principal)

    def _glossary_words(self) -> list[str]:
        g = self.glossary
        return g.terms() + sorted({n for e in g.entries for n in e.chinese_names()})

    # -- ingestion (kb_agent/ingest, kb_agent/store) --------------------------------------------
    @property
    def embedder(self):
        """The configured embedder, created once on first use (its model loads on first embed)."""
        embedder = self.__dict__.get("_embedder")
        if embedder is None:
            from kb_agent.embed.factory import create_embedder

            s = self.settings.embedder
            if s.backend == "dashscope" and s.api_key is None and self.settings.dashscope.api_key:
                s = s.model_copy(update={"api_key": self.settings.dashscope.api_key})
            embedder = create_embedder(s)
            self.__dict__["_embedder"] = embedder
        return embedder

    @property
    def chunk_store(self):
        """The chunk store at ``data_dir/kb.sqlite3``, opened once (StoreError if unusable)."""
        store = self.__dict__.get("_chunk_store")
        if store is None:
            from kb_agent.store.chunks import ChunkStore

            store = ChunkStore(self.settings.data_dir / "kb.sqlite3")
            self.__dict__["_chunk_store"] = store
        return store

    def ingest(self, paths, progress=None):
        """Ingest files and folders -> :class:`kb_agent.ingest.report.IngestReport`."""
        from pathlib import Path

        from kb_agent.ingest.pipeline import Ingestor

        key = self.settings.dashscope.api_key
        ingestor = Ingestor(self.chunk_store, self.embedder, self.settings.ingest,
                            hooks=getattr(self, "ingest_hooks", []),
                            asr_api_key=key.get_secret_value() if key else None)
        return ingestor.run([Path(p) for p in paths], progress=progress)


def _as_acronym(query: str) -> tuple[str, ...]:
    q = query.strip()
    return (q,) if 2 <= len(q) <= 10 and q.replace(".", "").replace("&", "").isalnum() and q.isascii() else ()

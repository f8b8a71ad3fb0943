"""The fact service the KnowledgeBase exposes: curated facts first, then spreadsheet tables.

``query`` answers one question for one principal:
- with ``table``/``filters``/``columns``: an exact table query (bound parameters, capped);
- with ``aggregate``: count/sum/avg/min/max… of a column over the filtered rows, optionally
  grouped, with the cells it was computed from;
- else the best live fact above the confidence threshold (two when they conflict); a match
  that has expired (or is not valid yet) is reported as such, never served as current;
- else the table rows that best match the question (keyword), with a row confidence.
Everything is filtered by the principal's access groups inside the stores.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from kb_agent.access import Principal
from kb_agent.config import Settings
from kb_agent.errors import FactError
from kb_agent.facts.match import FactHit, FactIndex
from kb_agent.facts.store import FactStore
from kb_agent.facts.tables.aggregate import AggregateResult, parse_aggregate
from kb_agent.facts.tables.calc_question import CalcQuestion, parse_calc_question
from kb_agent.facts.tables.db import TableStore
from kb_agent.facts.tables.schema import RowHit, TableResult
from kb_agent.facts.tables.filters import parse_filters
from kb_agent.facts.tables.hook import SpreadsheetHook
from kb_agent.facts.text import canonical_text, tokens
from kb_agent.facts.text import words as content_words
from kb_agent.facts.vectors import VectorCache
from kb_agent.glossary.terms import TermUnderstanding
from kb_agent.text import QUESTION_WORDS, normalise

log = logging.getLogger(__name__)

_TIE = 0.02
_MARGIN = 0.05  # two live facts closer than this are ambiguous
_NEAR = 0.5     # below the threshold but at least half of it: offered to the LLM as candidates

@dataclass
class FactQueryResult:
    question: str
    status: str  # fact | conflict | ambiguous | expired | future | table | aggregate | rows | no_match
    facts: list[FactHit] = field(default_factory=list)      # served (or expired/future) facts
    candidates: list[FactHit] = field(default_factory=list)  # no_match: closest live facts, for the LLM
    table: TableResult | None = None
    aggregate: AggregateResult | None = None
    rows: list[RowHit] = field(default_factory=list)         # question-matched rows
    confidence: float = 0.0
    threshold: float = 0.0
    today: date = field(default_factory=date.today)

    @property
    def found(self) -> bool:
        if self.status == "table":
            return bool(self.table and self.table.rows)
        if self.status == "aggregate":
            return bool(self.aggregate and self.aggregate.total.rows)
        return self.status in ("fact", "conflict", "rows")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"question": self.question, "status": self.status, "found": self.found,
                               "confidence": round(self.confidence, 4), "threshold": self.threshold,
                               "facts": [{**h.to_dict(), "answer": h.fact.answer_for(self.question),
                                          "fact": h.fact.to_dict(), "state": h.fact.status(self.today)}
                                         for h in self.facts],
                               "rows": [r.to_dict() for r in self.rows],
                               "candidates": [{**h.to_dict(), "answer": h.fact.answer_for(self.question)}
                                              for h in self.candidates]}
        if self.table is not None:
            out["table"] = {**self.table.table.to_dict(), "total_matches": self.table.total,
                            "truncated": self.table.truncated,
                            "rows": [r.to_dict() for r in self.table.rows]}
        if self.aggregate is not None:
            out["aggregate"] = self.aggregate.to_dict()
        return out


class FactService:
    def __init__(self, settings: Settings, understand: Callable[[str], TermUnderstanding],
                 user_words: Callable[[], list[str]], embedder: Callable[[], Any] | None = None):
        self.settings = settings
        self.cfg = settings.facts
        self.understand = understand
        self.user_words = user_words
        self._embedder = embedder
        self.store = FactStore(self.cfg.dir, self.cfg.reload_check_s, self.cfg.max_file_mb)
        self._tables: TableStore | None = None
        self._index: FactIndex | None = None
        self._index_key: tuple | None = None
        self._vector_cache = None  # VectorCache, opened with the first embedder
        self._lock = threading.Lock()
        self._tables_lock = threading.Lock()
        self._words: tuple[float, tuple[str, ...]] | None = None

    # -- parts ---------------------------------------------------------------------------
    @property
    def tables(self) -> TableStore:
        if self._tables is None:
            with self._tables_lock:
                if self._tables is None:
                    self._tables = TableStore(self.settings.data_dir / self.cfg.tables_file)
        return self._tables

    def ingest_hook(self) -> SpreadsheetHook:
        return SpreadsheetHook(self.tables, self.row_tokens, self.cfg.exclude_folders, self.cfg.max_rows_per_sheet)

    def words(self) -> tuple[str, ...]:
        """Glossary terms for the tokenizer, rebuilt at most once a second (per-row calls)."""
        now = time.monotonic()
        if self._words is None or now - self._words[0] > 1.0:
            self._words = (now, tuple(self.user_words()))
        return self._words[1]

    def row_tokens(self, text: str) -> list[str]:
        return tokens(text, self.words())

    def expand(self, text: str) -> str:
        return self.understand(text).expanded_query

    def canonical(self, text: str, terms: TermUnderstanding | None = None) -> str:
        terms = terms if terms is not None else self.understand(text)
        return canonical_text(text, [(m.start, m.end, es[0].term) for m, es in terms.chosen if es])

    def index(self) -> FactIndex:
        fact_set = self.store.snapshot()    # facts and version from one loaded version
        facts = fact_set.facts
        words = self.words()
        key = (fact_set.version, words)
        with self._lock:
            if self._index is None or self._index_key != key:
                embedder = None
                if self.cfg.use_embeddings and self._embedder is not None:
                    try:
                        embedder = self._embedder()
                    except Exception as exc:  # no model available: keyword matching still works
                        log.warning("facts: no embedder (%s); keyword matching only", exc)
                if embedder is not None and self._vector_cache is None:
                    try:
                        self._vector_cache = VectorCache(self.settings.data_dir / self.cfg.tables_file)
                    except sqlite3.DatabaseError as exc:  # only a cache: match without persisting vectors
                        log.warning("facts: vector cache unusable (%s); vectors kept in memory only", exc)
                        self._vector_cache = {}
                self._index = FactIndex(facts, self.expand, self.canonical, words, embedder, self._vector_cache,
                                        self.cfg.embed_low, self.cfg.embed_high, self.cfg.embed_min_keyword)
                self._index_key = key
            return self._index

    def warm_up(self) -> None:
        """Load facts and build the matching index now (embeds new phrasings), not on the first question."""
        self.index()

    # -- queries -------------------------------------------------------------------------
    def query(self, question: str, principal: Principal, table: str | None = None, filters: Any = None,
              columns: list[str] | None = None, today: date | None = None, aggregate: Any = None,
              terms: TermUnderstanding | None = None) -> FactQueryResult:
        """``terms``: the question's term understanding when the caller has it already."""
        today = today or date.today()
        question = (question or "").strip()
        if table or filters or columns or aggregate:
            return self.query_table(question, principal, table, filters, columns, today, aggregate)
        terms = terms if terms is not None else self.understand(question)
        result = self.match_facts(question, principal, today, terms)
        if result.status in ("fact", "conflict"):
            return result
        rows, conf = self.match_rows(question, principal, terms=terms)
        if rows and conf >= self.cfg.row_min_confidence and result.status in ("no_match", "ambiguous"):
            return FactQueryResult(question, "rows", rows=rows, confidence=conf,
                                   threshold=self.cfg.row_min_confidence, today=today)
        return result

    def match_facts(self, question: str, principal: Principal, today: date,
                    terms: TermUnderstanding | None = None) -> FactQueryResult:
        threshold = self.cfg.min_confidence
        terms = terms if terms is not None else self.understand(question)
        hits = self.index().search(question, allowed=lambda f: principal.can_see(f.access_groups), k=8,
                                   expanded=terms.expanded_query, canonical=self.canonical(question, terms))
        above = [h for h in hits if h.confidence >= threshold]
        best_conf = hits[0].confidence if hits else 0.0
        # A live fact wins unless an expired (or future) one matches clearly better: "AIP 2024的展位"
        # must not be answered with the 2026 booth. A renewed fact (same phrasings) ties and wins.
        live = [h for h in above if h.fact.status(today) == "live" and h.confidence >= best_conf - _TIE]
        if live:
            top = live[0]
            served = [top] + [h for h in live[1:] if frozenset((top.fact.id, h.fact.id)) in self.store.conflicts]
            if len(served) > 1:
                return FactQueryResult(question, "conflict", served, confidence=top.confidence,
                                       threshold=threshold, today=today)
            rivals = [h for h in hits[1:] if h.fact.id != top.fact.id and h.confidence > top.confidence - _MARGIN
                      and h.fact.status(today) == "live"]
            if rivals:  # two different facts fit about equally well: do not pick one silently
                return FactQueryResult(question, "ambiguous", [top, *rivals], confidence=top.confidence,
                                       threshold=threshold, today=today)
            return FactQueryResult(question, "fact", served, confidence=top.confidence,
                                   threshold=threshold, today=today)
        if above:  # the best matches are expired or not valid yet
            top = above[0]
            return FactQueryResult(question, top.fact.status(today), [top], confidence=top.confidence,
                                   threshold=threshold, today=today)
        near = [h for h in hits if h.fact.status(today) == "live" and h.confidence >= threshold * _NEAR][:2]
        return FactQueryResult(question, "no_match", candidates=near, confidence=best_conf, threshold=threshold,
                               today=today)

    def match_rows(self, question: str, principal: Principal, limit: int = 5,
                   terms: TermUnderstanding | None = None) -> tuple[list[RowHit], float]:
        """Rows whose values cover the question best; the row confidence is the share of the
        question's content words found in the row (values, column names, table name)."""
        terms = terms if terms is not None else self.understand(question)
        words = [w for w in dict.fromkeys(content_words(question, self.words())) if w not in QUESTION_WORDS]
        if not words:
            return [], 0.0
        alias = _aliases(terms)
        candidates = self.tables.search_rows(tokens(terms.expanded_query, self.words()), principal, 30)
        scored = []
        for hit in candidates:
            values = normalise(" ".join(c.text for c in hit.cells))
            context = normalise(" ".join([hit.table.name, *(c.name for c in hit.table.columns)]))
            in_values = [w for w in words if _covered(w, values, alias)]
            if not in_values:
                continue  # a column name alone matches every row
            covered = [w for w in words if w in in_values or _covered(w, context, alias)]
            scored.append((len(covered) / len(words), hit.score, hit))
        scored.sort(key=lambda x: (-x[0], -x[1]))
        if not scored:
            return [], 0.0
        best = scored[0][0]
        return [h for c, _, h in scored if c >= best - 1e-9][:limit], best

    def query_table(self, question: str, principal: Principal, table: str | None, filters: Any,
                    columns: list[str] | None, today: date, aggregate: Any = None) -> FactQueryResult:
        parsed = parse_filters(filters)
        spec = parse_aggregate(aggregate)
        if columns is not None and (not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)):
            raise FactError("columns must be a list of column names")
        if table:
            info = self.tables.resolve_table(str(table), principal)
        else:
            named = [*(columns or []), *((spec.column,) if spec and spec.column else ()),
                     *(spec.group_by if spec else ())]
            info = self._guess_table(question, principal, parsed, named)
        if spec is not None:  # `columns` has no meaning for an aggregate
            agg = self.tables.aggregate(info, parsed, spec, self.cfg.max_result_rows)
            return FactQueryResult(question, "aggregate", aggregate=agg, confidence=1.0, threshold=0.0, today=today)
        result = self.tables.query(info, parsed, columns, self.cfg.max_result_rows)
        return FactQueryResult(question, "table", table=result, confidence=1.0, threshold=0.0, today=today)

    def _guess_table(self, question, principal, filters, columns) -> Any:
        visible = self.tables.tables(principal)
        wanted = {f.column for f in filters} | set(columns or [])
        from kb_agent.facts.tables.schema import resolve_column

        def fits(t) -> bool:
            try:
                for c in wanted:
                    resolve_column(t, c)
                return True
            except FactError:
                return False

        fitting = [t for t in visible if fits(t)]
        if len(fitting) == 1:
            return fitting[0]
        names = ", ".join(t.name for t in (fitting or visible)) or "(none loaded)"
        raise FactError(f"name the table to query ('table' argument); candidates: {names}")

    def calculation(self, question: str, principal: Principal) -> CalcQuestion | None:
        """The aggregate a calculation question asks of a table the principal may see, as
        fact_query arguments (calc_question.py), or None; for the offline router."""
        visible = self.tables.tables(principal)
        if not visible:
            return None
        return parse_calc_question(question, visible, self.tables.distinct_texts, self.words())

    def describe_tables(self, principal: Principal) -> list[str]:
        return [t.describe() for t in self.tables.tables(principal)]


def _aliases(terms: TermUnderstanding) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for match, entries in terms.chosen:
        names = [n for e in entries for n in (e.term, e.english, e.chinese) if n]
        out[normalise(match.text)] = [normalise(n) for n in names]
    return out


def _covered(word: str, text: str, alias: dict[str, list[str]]) -> bool:
    return word in text or any(a in text for a in alias.get(word, ()))

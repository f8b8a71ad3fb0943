"""Usage log in SQLite: questions asked, which tool answered, and unknown terms seen.

Admins read it in the console (recent questions, "no answer" rate, unknown terms to add to
the glossary). The question records are also the audit log (kb_agent/audit.py): who asked,
when, through which surface (web, cli, api, mcp, eval), which tools ran and which evidence
(source + locator) was shown. Writes are small and synchronous; each call opens its own
connection so the log is safe to use from several threads.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from kb_agent.sqlite_file import connect, create

_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    user TEXT NOT NULL,
    question TEXT NOT NULL,
    mode TEXT NOT NULL,
    tools TEXT NOT NULL,
    answered INTEGER NOT NULL,
    flags TEXT NOT NULL DEFAULT '',
    surface TEXT NOT NULL DEFAULT '',
    evidence TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS unknown_terms (
    term TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    example TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS key_uses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    user TEXT NOT NULL,
    key_id INTEGER NOT NULL,
    endpoint TEXT NOT NULL
);
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS questions_ts ON questions (ts);
CREATE INDEX IF NOT EXISTS key_uses_ts ON key_uses (ts);
"""
#: Columns added since the first version, with their definitions: an older log gains them on open.
_ADDED_COLUMNS = {
    "flags": "TEXT NOT NULL DEFAULT ''",         # the grounding check
    "surface": "TEXT NOT NULL DEFAULT ''",       # the audit log ('' = recorded before surfaces were)
    "evidence": "TEXT NOT NULL DEFAULT '[]'",
}
#: Citations kept per answer in the audit log (an aggregate over a table can cite many cells).
MAX_EVIDENCE = 50


@dataclass(frozen=True)
class UnknownTerm:
    term: str
    count: int
    last_seen: float
    example: str


@dataclass(frozen=True)
class QuestionRecord:
    ts: float
    user: str
    question: str
    mode: str
    tools: str
    answered: bool
    flags: str = ""  # the grounding check's failure kinds, comma-separated ("" = nothing flagged)
    surface: str = ""  # web | cli | api | mcp | eval ("" = recorded before surfaces were)
    evidence: tuple[dict[str, Any], ...] = ()  # {"source", "locator"} of each citation shown
    id: int = 0

    @property
    def tool_names(self) -> list[str]:
        return [t for t in self.tools.split(",") if t]

    @property
    def flag_kinds(self) -> list[str]:
        return [f for f in self.flags.split(",") if f]


class UsageLog:
    def __init__(self, path: Path):
        self.path = create(path, _SCHEMA)
        with closing(self._connect()) as db, db:
            columns = {r[1] for r in db.execute("PRAGMA table_info(questions)")}
            for name, definition in _ADDED_COLUMNS.items():  # a log written by an earlier version
                if name not in columns:
                    db.execute(f"ALTER TABLE questions ADD COLUMN {name} {definition}")
            db.executescript(_INDEXES)

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path)

    def record_unknown_terms(self, terms: list[str] | tuple[str, ...], question: str) -> None:
        if not terms:
            return
        now = time.time()
        with closing(self._connect()) as db, db:
            for term in terms:
                db.execute(
                    "INSERT INTO unknown_terms (term, count, first_seen, last_seen, example) VALUES (?, 1, ?, ?, ?) "
                    "ON CONFLICT(term) DO UPDATE SET count = count + 1, last_seen = excluded.last_seen, "
                    "example = excluded.example", (term, now, now, question[:500]))

    def unknown_terms(self, limit: int = 100) -> list[UnknownTerm]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT term, count, last_seen, example FROM unknown_terms "
                              "ORDER BY count DESC, last_seen DESC LIMIT ?", (limit,)).fetchall()
        return [UnknownTerm(*r) for r in rows]

    def forget_unknown_term(self, term: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM unknown_terms WHERE term = ?", (term,))

    def record_question(self, user: str, question: str, mode: str, tools: list[str], answered: bool,
                        flags: Sequence[str] = (), *, surface: str = "",
                        evidence: Sequence[Mapping[str, Any]] = ()) -> None:
        """``flags``: the kinds of the grounding check's failures on the answer (one per failure);
        ``surface``: where it was asked (web, cli, api, mcp, eval); ``evidence``: the
        ``{"source", "locator"}`` of each citation shown with the answer (the first
        :data:`MAX_EVIDENCE`)."""
        shown = [{"source": str(e.get("source", "")), "locator": dict(e.get("locator") or {})}
                 for e in list(evidence)[:MAX_EVIDENCE]]
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO questions (ts, user, question, mode, tools, answered, flags, surface, evidence) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (time.time(), user, question[:2000], mode, ",".join(tools), int(answered), ",".join(flags),
                        surface[:20], json.dumps(shown, ensure_ascii=False, default=str)))

    def record_key_use(self, user: str, key_id: int, endpoint: str) -> None:
        """One use of an API key (``endpoint``: e.g. ``chat.completions``, ``mcp:doc_retrieve``)."""
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO key_uses (ts, user, key_id, endpoint) VALUES (?, ?, ?, ?)",
                       (time.time(), user, key_id, endpoint[:200]))

    def key_uses(self, limit: int = 50) -> list[tuple[float, str, int, str]]:
        """Recent API key uses, newest first: (ts, user, key id, endpoint)."""
        with closing(self._connect()) as db:
            return db.execute("SELECT ts, user, key_id, endpoint FROM key_uses ORDER BY id DESC LIMIT ?",
                              (limit,)).fetchall()

    def recent_questions(self, limit: int = 50) -> list[QuestionRecord]:
        return self.questions(limit=limit)

    def questions(self, *, user: str | None = None, text: str | None = None, surface: str | None = None,
                  since: float | None = None, until: float | None = None, limit: int = 1000) -> list[QuestionRecord]:
        """Question records, newest first: ``user`` and ``surface`` exact, ``text`` a
        case-insensitive part of the question, ``since`` <= ts < ``until`` (epoch seconds)."""
        where, args = [], []
        for clause, value in (("user = ?", user), ("surface = ?", surface), ("ts >= ?", since), ("ts < ?", until)):
            if value is not None:
                where.append(clause)
                args.append(value)
        if text:
            where.append("instr(lower(question), ?) > 0")
            args.append(text.lower())
        sql = ("SELECT id, ts, user, question, mode, tools, answered, flags, surface, evidence FROM questions"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC LIMIT ?")
        with closing(self._connect()) as db:
            rows = db.execute(sql, (*args, limit)).fetchall()
        return [QuestionRecord(r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8], _evidence(r[9]), r[0])
                for r in rows]

    def forget_before(self, ts: float) -> int:
        """Remove question records and API key uses older than ``ts``; how many were removed."""
        with closing(self._connect()) as db, db:
            removed = db.execute("DELETE FROM questions WHERE ts < ?", (ts,)).rowcount
            removed += db.execute("DELETE FROM key_uses WHERE ts < ?", (ts,)).rowcount
        return removed

    def flagged_answers(self) -> tuple[int, Counter[str]]:
        """(answers with a failed grounding check, failures counted by kind)."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT flags FROM questions WHERE flags != ''").fetchall()
        return len(rows), Counter(kind for (flags,) in rows for kind in flags.split(","))

    def no_answer_rate(self) -> tuple[int, float]:
        """(questions asked, fraction with no answer found)."""
        with closing(self._connect()) as db:
            total, unanswered = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(1 - answered), 0) FROM questions").fetchone()
        return total, (unanswered / total if total else 0.0)


def _evidence(stored: str | None) -> tuple[dict[str, Any], ...]:
    try:
        data = json.loads(stored or "[]")
    except ValueError:
        return ()
    return tuple(e for e in data if isinstance(e, dict)) if isinstance(data, list) else ()

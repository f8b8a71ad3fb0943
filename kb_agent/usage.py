"""Usage log in SQLite: questions asked, which tool answered, and unknown terms seen.

Admins read it in the console (recent questions, "no answer" rate, unknown terms to add to
the glossary). Writes are small and synchronous; each call opens its own connection so the
log is safe to use from several threads.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    user TEXT NOT NULL,
    question TEXT NOT NULL,
    mode TEXT NOT NULL,
    tools TEXT NOT NULL,
    answered INTEGER NOT NULL,
    flags TEXT NOT NULL DEFAULT ''
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


class UsageLog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(_SCHEMA)
            columns = {r[1] for r in db.execute("PRAGMA table_info(questions)")}
            if "flags" not in columns:  # a log written before the grounding check existed
                db.execute("ALTER TABLE questions ADD COLUMN flags TEXT NOT NULL DEFAULT ''")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        return db

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
                        flags: Sequence[str] = ()) -> None:
        """``flags``: the kinds of the grounding check's failures on the answer (one per failure)."""
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO questions (ts, user, question, mode, tools, answered, flags) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (time.time(), user, question[:2000], mode, ",".join(tools), int(answered), ",".join(flags)))

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
        with closing(self._connect()) as db:
            rows = db.execute("SELECT ts, user, question, mode, tools, answered, flags FROM questions "
                              "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [QuestionRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]) for r in rows]

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

"""Feedback on answers in SQLite: thumbs up or down, an optional comment, and what was shown.

Each item keeps the question, the answer text, the tool calls (``Answer.tool_calls``) and the
cited evidence (``Citation.to_dict()`` each: source, locator, passage), who rated it and in
which conversation. Admins list it in the console and turn an item into an evaluation case
(``mark_converted`` records which file). Only the item's own user may change its vote or
comment, or withdraw the rating. Each call opens its own connection (WAL), as
:mod:`kb_agent.usage` does.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from kb_agent.errors import InputError
from kb_agent.sqlite_file import connect, create

VOTES = ("up", "down")
MAX_COMMENT_CHARS = 2000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    user TEXT NOT NULL,
    conversation_id TEXT,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    vote TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    tool_calls TEXT NOT NULL,
    tools TEXT NOT NULL,
    evidence TEXT NOT NULL,
    eval_case TEXT
);
CREATE INDEX IF NOT EXISTS feedback_by_ts ON feedback (ts);
"""
_COLUMNS = "id, ts, user, conversation_id, question, answer, vote, comment, tool_calls, evidence, eval_case"


@dataclass(frozen=True)
class FeedbackItem:
    id: int
    ts: float
    user: str
    conversation_id: str | None
    question: str
    answer: str
    vote: str  # "up" | "down"
    comment: str
    tool_calls: list[dict]
    evidence: list[dict]  # Citation.to_dict() each
    eval_case: str | None  # the eval file it was turned into, None until then

    @property
    def tools(self) -> list[str]:
        """The names of the tools that ran, in call order."""
        return [str(c.get("name", "")) for c in self.tool_calls if isinstance(c, dict)]


def _vote(vote: str) -> str:
    if vote not in VOTES:
        raise InputError(f"Unknown vote {vote!r}: it is 'up' or 'down'.")
    return vote


def _comment(comment: str) -> str:
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise InputError(f"The comment is too long ({len(comment)} characters; at most {MAX_COMMENT_CHARS}).")
    return comment


def _item(row: tuple) -> FeedbackItem:
    return FeedbackItem(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                        json.loads(row[8]), json.loads(row[9]), row[10])


def _not_found(item_id: int) -> InputError:
    return InputError(f"There is no feedback item {item_id} of yours.")


class FeedbackStore:
    def __init__(self, path: Path):
        self.path = create(path, _SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path)

    def add(self, user: str, question: str, answer: str, vote: str, tool_calls: Sequence[dict],
            evidence: Sequence[dict], *, comment: str = "", conversation_id: str | None = None) -> int:
        """A new rating of one answer; returns its id."""
        vote, comment = _vote(vote), _comment(comment)
        calls = [dict(c) for c in tool_calls]
        tools = "," + ",".join(str(c.get("name", "")) for c in calls) + ","  # found with instr(tools, ',name,')
        with closing(self._connect()) as db, db:
            cur = db.execute(
                "INSERT INTO feedback (ts, user, conversation_id, question, answer, vote, comment, tool_calls, "
                "tools, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), user, conversation_id, question, answer, vote, comment,
                 json.dumps(calls, ensure_ascii=False), tools,
                 json.dumps([dict(e) for e in evidence], ensure_ascii=False)))
            return int(cur.lastrowid)

    def _update_own(self, user: str, item_id: int, column: str, value: Any) -> None:
        with closing(self._connect()) as db, db:
            if db.execute(f"UPDATE feedback SET {column} = ? WHERE id = ? AND user = ?",
                          (value, item_id, user)).rowcount == 0:
                raise _not_found(item_id)

    def set_comment(self, user: str, item_id: int, comment: str) -> None:
        """Attach (or replace) the comment of the user's own item."""
        self._update_own(user, item_id, "comment", _comment(comment))

    def set_vote(self, user: str, item_id: int, vote: str) -> None:
        """Change the vote of the user's own item (the same answer rated again)."""
        self._update_own(user, item_id, "vote", _vote(vote))

    def withdraw(self, user: str, item_id: int) -> bool:
        """Remove the user's own rating (the thumb clicked off again); an item already turned
        into an evaluation case stays. True when it was removed."""
        with closing(self._connect()) as db, db:
            return db.execute("DELETE FROM feedback WHERE id = ? AND user = ? AND eval_case IS NULL",
                              (item_id, user)).rowcount > 0

    def list(self, *, vote: str | None = None, tool: str | None = None, since: float | None = None,
             until: float | None = None, limit: int = 200) -> list[FeedbackItem]:
        """Items, newest first; ``since``/``until`` are epoch seconds (``until`` exclusive)."""
        where, args = [], []
        if vote is not None:
            where.append("vote = ?")
            args.append(_vote(vote))
        if tool:
            where.append("instr(tools, ?) > 0")
            args.append(f",{tool},")
        if since is not None:
            where.append("ts >= ?")
            args.append(float(since))
        if until is not None:
            where.append("ts < ?")
            args.append(float(until))
        sql = f"SELECT {_COLUMNS} FROM feedback" + (" WHERE " + " AND ".join(where) if where else "")
        with closing(self._connect()) as db:
            rows = db.execute(sql + " ORDER BY ts DESC, id DESC LIMIT ?", (*args, int(limit))).fetchall()
        return [_item(r) for r in rows]

    def get(self, item_id: int) -> FeedbackItem | None:
        with closing(self._connect()) as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM feedback WHERE id = ?", (item_id,)).fetchone()
        return _item(row) if row else None

    def mark_converted(self, item_id: int, eval_case: str) -> None:
        """Record the evaluation file the item was turned into."""
        with closing(self._connect()) as db, db:
            if db.execute("UPDATE feedback SET eval_case = ? WHERE id = ?", (eval_case, item_id)).rowcount == 0:
                raise InputError(f"There is no feedback item {item_id}.")

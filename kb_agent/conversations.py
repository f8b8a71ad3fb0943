"""Conversations people can come back to: one SQLite file, every row owned by one user.

A conversation is a title (the first question, trimmed) and its turns. Each turn keeps what
the web chat showed (the Gradio chat messages, exactly), what the answerer gets as history
(plain user/assistant text) and, for a turn that was answered, the answer's record (question,
answer text, tool calls, cited evidence, the feedback item it was rated with), so a reopened
answer can still be rated.

Every method takes the user and finds only that user's rows: another user's conversation id
behaves exactly like an id that does not exist (``get`` returns None, the others raise
:class:`InputError`). Each call opens its own connection (WAL), so the store is safe to use
from several threads, as :mod:`kb_agent.usage` is.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from kb_agent.errors import InputError
from kb_agent.sqlite_file import connect, create

TITLE_CHARS = 60
MAX_TITLE_CHARS = 200  # a title typed in by hand (rename)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    turns INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS conversations_by_user ON conversations (user, updated);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts REAL NOT NULL,
    chat TEXT NOT NULL,
    history TEXT NOT NULL,
    answer TEXT,
    PRIMARY KEY (conversation_id, seq)
);
"""


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    title: str
    created: float
    updated: float
    turns: int


@dataclass(frozen=True)
class Conversation:
    """A stored conversation: ``chat`` as the web chat shows it, ``history`` as the answerer
    gets it, ``answers`` the answer records (question, answer, tool_calls, evidence, turn,
    feedback_id, vote) by the index in ``chat`` of each assistant message of their turn."""

    summary: ConversationSummary
    chat: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, str]] = field(default_factory=list)
    answers: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.summary.id

    @property
    def title(self) -> str:
        return self.summary.title


def title_of(question: str) -> str:
    """A conversation's title from its first question: one line, at most :data:`TITLE_CHARS`."""
    text = " ".join((question or "").split())
    if len(text) > TITLE_CHARS:
        text = text[:TITLE_CHARS - 1].rstrip() + "…"
    return text or "New conversation · 新对话"


def assistant_indices(chat: Sequence[dict[str, Any]]) -> list[int]:
    """Indices of the assistant messages (tool steps and the answer) in one turn's messages:
    the chat rates them as one group, so a rating of any of them is a rating of the answer."""
    return [i for i, m in enumerate(chat) if isinstance(m, dict) and m.get("role") == "assistant"]


def _not_found(conv_id: str) -> InputError:
    return InputError(f"There is no conversation {conv_id!r} of yours.",
                      hint="It may have been deleted; pick one from your list of conversations.")


class ConversationStore:
    def __init__(self, path: Path):
        self.path = create(path, _SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path)

    @staticmethod
    def _owned(db: sqlite3.Connection, user: str, conv_id: str) -> tuple | None:
        if not isinstance(conv_id, str) or not conv_id:
            return None
        return db.execute("SELECT id, title, created, updated, turns FROM conversations "
                          "WHERE id = ? AND user = ?", (conv_id, user)).fetchone()

    def create(self, user: str, title: str) -> str:
        """A new, empty conversation of ``user``; its title from ``title`` (the first question)."""
        if not user:
            raise InputError("A conversation needs a user.")
        conv_id = uuid.uuid4().hex
        now = time.time()
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO conversations (id, user, title, created, updated, turns) VALUES (?, ?, ?, ?, ?, 0)",
                       (conv_id, user, title_of(title), now, now))
        return conv_id

    def list(self, user: str, limit: int = 200) -> list[ConversationSummary]:
        """The user's conversations, the most recently updated first."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT id, title, created, updated, turns FROM conversations WHERE user = ? "
                              "ORDER BY updated DESC, rowid DESC LIMIT ?", (user, limit)).fetchall()
        return [ConversationSummary(*r) for r in rows]

    def get(self, user: str, conv_id: str) -> Conversation | None:
        """The user's conversation with its turns; None for an unknown id or another user's."""
        with closing(self._connect()) as db:
            row = self._owned(db, user, conv_id)
            if row is None:
                return None
            turns = db.execute("SELECT seq, chat, history, answer FROM turns WHERE conversation_id = ? "
                               "ORDER BY seq", (conv_id,)).fetchall()
        chat: list[dict[str, Any]] = []
        history: list[dict[str, str]] = []
        answers: dict[int, dict[str, Any]] = {}
        for seq, turn_chat, turn_history, answer in turns:
            messages = json.loads(turn_chat)
            if answer is not None:
                record = {**json.loads(answer), "turn": seq}   # one record for the turn's messages
                for at in assistant_indices(messages):
                    answers[len(chat) + at] = record
            chat += messages
            history += json.loads(turn_history)
        return Conversation(ConversationSummary(*row), chat, history, answers)

    def append_turn(self, user: str, conv_id: str, chat_messages: Sequence[dict[str, Any]],
                    history_messages: Sequence[dict[str, str]], answer: dict[str, Any] | None = None) -> int:
        """Store one turn (its chat messages, its plain history messages and the answer's
        record: question, answer, tool_calls, evidence); returns the turn's number."""
        now = time.time()
        with closing(self._connect()) as db, db:
            db.execute("BEGIN IMMEDIATE")  # two tabs appending at once get distinct numbers
            row = self._owned(db, user, conv_id)
            if row is None:
                raise _not_found(conv_id)
            seq = row[4]
            db.execute("INSERT INTO turns (conversation_id, seq, ts, chat, history, answer) VALUES (?, ?, ?, ?, ?, ?)",
                       (conv_id, seq, now, json.dumps(list(chat_messages), ensure_ascii=False),
                        json.dumps(list(history_messages), ensure_ascii=False),
                        None if answer is None else json.dumps(answer, ensure_ascii=False)))
            db.execute("UPDATE conversations SET turns = ?, updated = ? WHERE id = ?", (seq + 1, now, conv_id))
        return seq

    def set_feedback(self, user: str, conv_id: str, turn: int, item_id: int | None, vote: str | None) -> None:
        """Remember the feedback item and vote an answer was rated with (None, None: withdrawn),
        so that rating it again, even after reopening, updates that item."""
        with closing(self._connect()) as db, db:
            if self._owned(db, user, conv_id) is None:
                raise _not_found(conv_id)
            row = db.execute("SELECT answer FROM turns WHERE conversation_id = ? AND seq = ?",
                             (conv_id, turn)).fetchone()
            if row is None or row[0] is None:
                raise InputError(f"Turn {turn} of conversation {conv_id!r} has no answer to rate.")
            answer = {**json.loads(row[0]), "feedback_id": item_id, "vote": vote}
            db.execute("UPDATE turns SET answer = ? WHERE conversation_id = ? AND seq = ?",
                       (json.dumps(answer, ensure_ascii=False), conv_id, turn))

    def rename(self, user: str, conv_id: str, title: str) -> None:
        title = " ".join((title or "").split())
        if not title:
            raise InputError("The new title is empty.")
        if len(title) > MAX_TITLE_CHARS:
            raise InputError(f"The title is too long ({len(title)} characters; at most {MAX_TITLE_CHARS}).")
        with closing(self._connect()) as db, db:
            if db.execute("UPDATE conversations SET title = ? WHERE id = ? AND user = ?",
                          (title, conv_id, user)).rowcount == 0:
                raise _not_found(conv_id)

    def delete(self, user: str, conv_id: str) -> None:
        with closing(self._connect()) as db, db:
            if db.execute("DELETE FROM conversations WHERE id = ? AND user = ?", (conv_id, user)).rowcount == 0:
                raise _not_found(conv_id)
            db.execute("DELETE FROM turns WHERE conversation_id = ?", (conv_id,))

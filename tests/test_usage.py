"""The usage log (real SQLite): questions with the grounding check's flags, and a log written
before flags existed keeps working."""

from __future__ import annotations

import sqlite3

from kb_agent.usage import UsageLog


def test_flags_are_recorded_and_counted_by_kind(tmp_path):
    log = UsageLog(tmp_path / "usage.sqlite3")
    log.record_question("alice", "ESS培训每月几次？", "llm", ["fact_query"], True)
    log.record_question("bob", "AM?", "llm", ["doc_retrieve"], True, flags=["citation", "number", "number"])
    log.record_question("carol", "SL-500?", "llm", ["doc_retrieve"], True, flags=["url"])
    flagged, kinds = log.flagged_answers()
    assert flagged == 2 and kinds == {"number": 2, "citation": 1, "url": 1}
    recent = log.recent_questions()
    assert [q.flags for q in recent] == ["url", "citation,number,number", ""]


def test_a_log_from_before_the_flags_column_is_migrated(tmp_path):
    path = tmp_path / "usage.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE questions (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, "
                   "user TEXT NOT NULL, question TEXT NOT NULL, mode TEXT NOT NULL, tools TEXT NOT NULL, "
                   "answered INTEGER NOT NULL)")
        db.execute("INSERT INTO questions (ts, user, question, mode, tools, answered) "
                   "VALUES (1, 'alice', 'old question', 'offline', '', 0)")
    log = UsageLog(path)
    log.record_question("bob", "new question", "llm", [], True, flags=["file"])
    assert [(q.question, q.flags) for q in log.recent_questions()] == [("new question", "file"), ("old question", "")]
    assert log.no_answer_rate() == (2, 0.5) and log.flagged_answers()[0] == 1

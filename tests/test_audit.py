"""The audit log (real SQLite): search by user, text, surface and day; CSV and JSONL export in
one shape; retention; a log from before surfaces existed is migrated; the CLI exports what
`kb-agent ask` answered, with its surface and evidence; the web server purges on start."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from datetime import date, timedelta

import pytest

from kb_agent import audit
from kb_agent.errors import InputError
from kb_agent.usage import UsageLog

GUIDE = {"source": "guides/returns_guide.md",
         "locator": {"kind": "heading", "heading_path": ["Printer returns", "Return window"],
                     "label": "Printer returns > Return window"}}
TERM = {"source": "glossary/company.yaml", "locator": {"kind": "glossary", "line": 27, "label": "line 27"}}


def _age(log: UsageLog, question: str, days: float) -> None:
    """Backdate one record (the log stamps records with the current time)."""
    with sqlite3.connect(log.path) as db:
        db.execute("UPDATE questions SET ts = ? WHERE question = ?", (time.time() - days * audit.DAY_S, question))


@pytest.fixture
def log(tmp_path):
    log = UsageLog(tmp_path / "usage.sqlite3")
    log.record_question("alice", "How long may a printer be returned?", "offline", ["doc_retrieve"], True,
                        surface="web", evidence=[GUIDE])
    log.record_question("bob", "AM是什么意思？", "offline", ["glossary_lookup"], True, surface="cli", evidence=[TERM])
    log.record_question("alice", "=HYPERLINK(\"http://x\")", "llm", [], False, ["unsupported"], surface="api")
    log.record_question("carol", "old question", "offline", [], False, surface="mcp")
    _age(log, "old question", 400)
    return log


def test_search_filters_by_user_text_surface_and_day(log):
    assert [r.question for r in audit.search(log, user="alice")] == [
        '=HYPERLINK("http://x")', "How long may a printer be returned?"]
    assert [r.user for r in audit.search(log, text="PRINTER")] == ["alice"]        # any case
    assert [r.user for r in audit.search(log, surface="cli")] == ["bob"]
    today = date.today()
    assert {r.user for r in audit.search(log, since=today)} == {"alice", "bob"}
    assert [r.user for r in audit.search(log, until=today - timedelta(days=300))] == ["carol"]
    assert len(audit.search(log, since=today, until=today)) == 3                  # until is inclusive
    assert audit.search(log, user="  ", text="") == audit.search(log)             # blank = no filter
    record = audit.search(log, surface="web")[0]
    assert record.tool_names == ["doc_retrieve"] and record.evidence == (GUIDE,)
    with pytest.raises(InputError, match="until"):
        audit.search(log, since=today, until=today - timedelta(days=1))


def test_dates_are_checked_naming_the_option():
    assert audit.parse_day(" 2026-12-03 ", "--since") == date(2026, 12, 3)
    assert audit.parse_day("", "--since") is None
    with pytest.raises(InputError, match=r"^--until: '2026-13-01' is not a date; write it as YYYY-MM-DD"):
        audit.parse_day("2026-13-01", "--until")


def test_jsonl_and_csv_hold_the_same_records(log):
    records = audit.search(log)
    out = io.StringIO()
    assert audit.write_jsonl(records, out) == 4
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[-1]["user"] == "alice" and lines[-1]["surface"] == "web"
    assert set(lines[-1]) == set(audit.CSV_COLUMNS)
    assert lines[-1]["evidence"] == [GUIDE] and lines[-1]["tools"] == ["doc_retrieve"] and lines[-1]["found"] is True
    assert lines[1]["flags"] == ["unsupported"] and lines[1]["time"].endswith("Z")
    out = io.StringIO(newline="")
    assert audit.write_csv(records, out) == 4
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["id"] for r in rows] == [str(d["id"]) for d in lines]
    assert rows[-1]["evidence"] == "guides/returns_guide.md Printer returns > Return window"
    assert rows[-2]["evidence"] == "glossary/company.yaml line 27" and rows[-2]["found"] == "true"
    assert rows[1]["question"] == "'=HYPERLINK(\"http://x\")"    # a spreadsheet must not run it
    with pytest.raises(InputError, match="format"):
        audit.write(records, io.StringIO(), "xml")


def test_purge_removes_what_is_older_than_the_retention(log):
    log.record_key_use("carol", 1, "mcp:doc_retrieve")
    with sqlite3.connect(log.path) as db:
        db.execute("UPDATE key_uses SET ts = ?", (time.time() - 400 * audit.DAY_S,))
    assert audit.purge(log, 0) == 0 and len(audit.search(log)) == 4      # 0 = keep forever
    assert audit.purge(log, 365) == 2                                    # the old answer and the key use
    assert [r.user for r in audit.search(log)] == ["alice", "bob", "alice"] and log.key_uses() == []


def test_daily_purge_runs_at_once_then_at_most_once_a_day(log):
    now = [time.time()]
    purge = audit.DailyPurge(log, 365, clock=lambda: now[0])
    assert purge() == 1
    log.record_question("dave", "soon old", "offline", [], True)
    _age(log, "soon old", 366)
    now[0] += audit.DAY_S - 60
    assert purge() == 0 and len(audit.search(log, user="dave")) == 1    # not yet a day since the last run
    now[0] += 120
    assert purge() == 1 and audit.search(log, user="dave") == []


def test_a_log_from_before_surfaces_is_migrated(tmp_path):
    path = tmp_path / "usage.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE questions (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, "
                   "user TEXT NOT NULL, question TEXT NOT NULL, mode TEXT NOT NULL, tools TEXT NOT NULL, "
                   "answered INTEGER NOT NULL, flags TEXT NOT NULL DEFAULT '')")
        db.execute("INSERT INTO questions (ts, user, question, mode, tools, answered) "
                   "VALUES (1, 'alice', 'old question', 'offline', 'fact_query', 1)")
    log = UsageLog(path)
    log.record_question("bob", "new question", "offline", [], True, surface="web", evidence=[TERM])
    old, new = reversed(audit.search(log))
    assert (old.surface, old.evidence, new.surface, new.evidence) == ("", (), "web", (TERM,))
    assert audit.to_dict(old)["evidence"] == [] and audit.to_dict(old)["tools"] == ["fact_query"]


def test_cli_ask_then_export_lists_the_answer_with_surface_and_evidence(cli, data_dir, tmp_path):
    assert cli("ask", "AM是什么意思？").exit_code == 0
    result = cli("audit", "export", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert line["surface"] == "cli" and line["question"] == "AM是什么意思？" and line["tools"] == ["glossary_lookup"]
    assert line["evidence"] and line["evidence"][0]["source"].startswith("glossary/")
    assert line["evidence"][0]["locator"]["kind"] == "glossary"
    out = tmp_path / "audit.csv"
    result = cli("audit", "export", "--format", "csv", "--output", str(out), "--user", line["user"],
                 "--since", date.today().isoformat())
    assert result.exit_code == 0 and "Wrote 1 answer(s)" in result.output
    (row,) = csv.DictReader(out.open(encoding="utf-8", newline=""))
    assert row["surface"] == "cli" and row["evidence"].startswith("glossary/") and "line " in row["evidence"]
    assert cli("audit", "export", "--user", "nobody").stdout == ""
    bad = cli("audit", "export", "--until", "03/12/2026")
    assert bad.exit_code == 2 and "--until: '03/12/2026' is not a date" in bad.output
    bad = cli("audit", "export", "--format", "xml")
    assert bad.exit_code == 2 and "--format" in bad.output and "csv, jsonl" in bad.output


def test_cli_purge_uses_the_retention_setting(cli, data_dir):
    log = UsageLog(data_dir / "usage.sqlite3")
    log.record_question("alice", "old question", "offline", [], True, surface="web")
    log.record_question("alice", "new question", "offline", [], True, surface="web")
    _age(log, "old question", 40)
    result = cli("audit", "purge", env={"KB_AGENT_AUDIT__RETENTION_DAYS": "0"})
    assert result.exit_code == 0 and "kept forever" in result.stdout
    result = cli("audit", "purge", "--json", env={"KB_AGENT_AUDIT__RETENTION_DAYS": "30"})
    assert json.loads(result.stdout) == {"removed": 1, "retention_days": 30}
    assert [r.question for r in audit.search(log)] == ["new question"]


def test_the_web_server_purges_on_start_and_after_answers(make_settings, data_dir):
    from kb_agent.ui.app import build_context

    log = UsageLog(data_dir / "usage.sqlite3")
    log.record_question("alice", "old question", "offline", [], True, surface="web")
    _age(log, "old question", 10)
    ctx = build_context(make_settings(audit={"retention_days": 7}, web={"single_user": True}))
    assert audit.search(ctx.kb.usage) == []
    purge = ctx.answerer.after_log
    assert isinstance(purge, audit.DailyPurge) and purge.last is not None
    log.record_question("bob", "older", "offline", [], True, surface="web")
    _age(log, "older", 8)
    ctx.answerer.ask("AM是什么意思？", surface="web")                      # the same day: no second purge
    assert [r.question for r in audit.search(log)] == ["AM是什么意思？", "older"]
    purge.clock = lambda: time.time() + audit.DAY_S + 1                   # a day later
    ctx.answerer.ask("AM是什么意思？", surface="web")
    assert [r.question for r in audit.search(log)] == ["AM是什么意思？", "AM是什么意思？"]

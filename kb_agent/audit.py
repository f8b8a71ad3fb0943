"""The audit log: what every answer showed, to whom, when and through which surface.

It is the usage log's question records (kb_agent/usage.py), not a second log: each answer is
recorded once, with the user, the time, the surface (``web``, ``cli``, ``api``, ``mcp``,
``eval``), the tools that ran, whether something was found, the grounding check's flags and
the evidence shown (``{"source", "locator"}`` of each citation). Pure functions over a
:class:`~kb_agent.usage.UsageLog`: search, export (CSV and JSON lines, one shape) and
retention. The console tab (kb_agent/ui/admin_audit.py) and ``kb-agent audit`` are adapters.

One exported record (:func:`to_dict`, the JSONL line; CSV has the same columns)::

    {"id": 7, "time": "2026-12-03T11:29:53Z", "user": "alice", "surface": "web",
     "question": "AM是什么意思？", "mode": "offline", "tools": ["glossary_lookup"], "found": true,
     "flags": [], "evidence": [{"source": "glossary/general.yaml",
                                "locator": {"kind": "glossary", "line": 12, "label": "line 12"}}]}
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import IO, Any, Callable, Iterable

from kb_agent.errors import InputError
from kb_agent.usage import QuestionRecord, UsageLog

DAY_S = 86_400
FORMATS = ("csv", "jsonl")
CSV_COLUMNS = ["id", "time", "user", "surface", "question", "mode", "tools", "found", "flags", "evidence"]
SEARCH_LIMIT = 1000


def parse_day(text: str | None, option: str) -> date | None:
    """A YYYY-MM-DD date, None for an empty value; InputError naming ``option`` otherwise."""
    if text is not None and not isinstance(text, str):
        raise InputError(f"{option}: expected a date as text, YYYY-MM-DD.")
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option}: {text!r} is not a date; write it as YYYY-MM-DD (e.g. 2026-12-03).") from None


def day_start(day: date) -> float:
    """Epoch seconds of the day's local midnight (the server's time zone)."""
    return datetime.combine(day, datetime.min.time()).timestamp()


def search(log: UsageLog, *, user: str | None = None, text: str | None = None, surface: str | None = None,
           since: date | None = None, until: date | None = None, limit: int = SEARCH_LIMIT) -> list[QuestionRecord]:
    """Answers newest first: ``user`` and ``surface`` exactly, ``text`` anywhere in the question
    (case-insensitive), asked on or after ``since`` and on or before ``until`` (local dates)."""
    if since is not None and until is not None and until < since:
        raise InputError(f"until ({until}) is before since ({since}).")
    return log.questions(user=_given(user), text=_given(text), surface=_given(surface),
                         since=day_start(since) if since else None,
                         until=day_start(until + timedelta(days=1)) if until else None, limit=limit)


def _given(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def iso_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def evidence_text(evidence: Iterable[dict[str, Any]]) -> str:
    """"hr/handbook.pdf p. 3; glossary/general.yaml line 12": each citation's source and locator label."""
    parts = []
    for e in evidence:
        locator = e.get("locator") or {}
        label = locator.get("label") or locator.get("kind") or ""
        parts.append(f"{e.get('source', '')} {label}".strip())
    return "; ".join(parts)


def to_dict(record: QuestionRecord) -> dict[str, Any]:
    """The export shape of one answer (module docstring)."""
    return {"id": record.id, "time": iso_time(record.ts), "user": record.user, "surface": record.surface,
            "question": record.question, "mode": record.mode, "tools": record.tool_names,
            "found": record.answered, "flags": record.flag_kinds, "evidence": [dict(e) for e in record.evidence]}


def write_jsonl(records: Iterable[QuestionRecord], fp: IO[str]) -> int:
    """One :func:`to_dict` JSON object a line; how many were written."""
    n = 0
    for r in records:
        fp.write(json.dumps(to_dict(r), ensure_ascii=False, default=str) + "\n")
        n += 1
    return n


def _cell(value: str) -> str:
    """A spreadsheet opens a cell starting with = + - @ as a formula: questions come from anyone."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def write_csv(records: Iterable[QuestionRecord], fp: IO[str]) -> int:
    """:data:`CSV_COLUMNS`, one row an answer: lists joined with ", ", ``found`` as true/false,
    the evidence as :func:`evidence_text`; cells that a spreadsheet would run as a formula are
    prefixed with ``'``. How many rows were written."""
    writer = csv.writer(fp)
    writer.writerow(CSV_COLUMNS)
    n = 0
    for r in records:
        d = to_dict(r)
        writer.writerow([d["id"], d["time"], _cell(d["user"]), _cell(d["surface"]), _cell(d["question"]), d["mode"],
                         ", ".join(d["tools"]), "true" if d["found"] else "false", ", ".join(d["flags"]),
                         _cell(evidence_text(d["evidence"]))])
        n += 1
    return n


def write(records: Iterable[QuestionRecord], fp: IO[str], fmt: str) -> int:
    if fmt not in FORMATS:
        raise InputError(f"format: {fmt!r} is not one of {', '.join(FORMATS)}.")
    return (write_csv if fmt == "csv" else write_jsonl)(records, fp)


def purge(log: UsageLog, retention_days: int, now: float | None = None) -> int:
    """Remove answers (and API key uses) older than ``retention_days``; 0 days keeps everything.
    How many records were removed."""
    if retention_days <= 0:
        return 0
    return log.forget_before((time.time() if now is None else now) - retention_days * DAY_S)


@dataclass
class DailyPurge:
    """:func:`purge` when called, then again only once a day has passed: cheap to call on every
    answer of a long-running server."""

    log: UsageLog
    retention_days: int
    clock: Callable[[], float] = time.time
    last: float | None = field(default=None, init=False)

    def __call__(self) -> int:
        now = self.clock()
        if self.last is not None and now - self.last < DAY_S:
            return 0
        self.last = now
        return purge(self.log, self.retention_days, now)

"""Spreadsheet tables in SQLite (``<data_dir>/tables.sqlite3``).

Each detected table gets a physical table ``t<id>`` with two columns per sheet column:
``v<n>`` (typed value: REAL for numbers, ISO text for dates, text) and ``d<n>`` (the text as
shown in the sheet), plus ``row_num`` (the sheet row, for cell citations). Column and table
identifiers in SQL come only from this store's own metadata; every value from a user or a
model is a bound parameter. A source's tables are replaced in one transaction, so readers
see the old tables or the new ones, never a mix. Access groups are per source and checked
inside every read. A table read from a pivot sheet is flagged (``sheets.pivot``) and says so in
its description and citations: its values are aggregates already.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from kb_agent.access import Principal
from kb_agent.errors import FactError, StoreError
from kb_agent.facts.tables.aggregate import (Aggregate, AggregateResult, build_sql, count_groups_sql,
                                             group_from_row, plan)
from kb_agent.facts.tables.detect import Table
from kb_agent.facts.tables.filters import Filter, build_where
from kb_agent.facts.tables.schema import Cell, ColumnInfo, RowHit, TableInfo, TableResult, resolve_column  # noqa: F401
from kb_agent.text import normalise_key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources(source TEXT PRIMARY KEY, content_hash TEXT, access_groups TEXT NOT NULL,
                                   loaded_at TEXT NOT NULL, notes TEXT NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS sheets(id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, sheet TEXT NOT NULL,
                                  name TEXT NOT NULL UNIQUE, header_rows TEXT NOT NULL, n_rows INTEGER NOT NULL,
                                  pivot INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS cols(sheet_id INTEGER NOT NULL, pos INTEGER NOT NULL, letter TEXT NOT NULL,
                                name TEXT NOT NULL, type TEXT NOT NULL, PRIMARY KEY(sheet_id, pos));
CREATE VIRTUAL TABLE IF NOT EXISTS row_fts USING fts5(tokens, sheet_id UNINDEXED, row_num UNINDEXED);
"""


class TableStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            if "pivot" not in {r[1] for r in self._db.execute("PRAGMA table_info(sheets)")}:
                # A store written before pivot sheets were loaded: add the flag (0 for its tables).
                self._db.execute("ALTER TABLE sheets ADD COLUMN pivot INTEGER NOT NULL DEFAULT 0")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"Table database {self.path} is unusable: {exc}",
                             hint="Delete it and re-ingest; it is rebuilt from the spreadsheets.") from exc

    def close(self) -> None:
        self._db.close()

    # -- writing -------------------------------------------------------------------------
    def replace_source(self, source: str, tables: Iterable[Table], access_groups: Iterable[str] = ("everyone",),
                       content_hash: str = "", notes: Iterable[str] = (), row_tokens=None) -> list[str]:
        """Atomically replace every table of ``source``; returns the new table names.

        ``row_tokens(texts) -> list[str]`` makes the keyword tokens of a row (facts/text.py).
        """
        tables = list(tables)
        given = list(access_groups)
        if not given or not all(isinstance(g, str) and g.strip() for g in given):
            # Fail closed: an empty or blank group list never means "everyone".
            raise FactError(f"{source}: access groups must be a non-empty list of group names, "
                            f"got {given!r}; not loaded")
        groups = json.dumps(sorted({g.strip() for g in given}))
        names = []
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                self._delete(source)
                for t in tables:
                    name = f"{source}!{t.sheet}"
                    cur = db.execute("INSERT INTO sheets(source, sheet, name, header_rows, n_rows, pivot) "
                                     "VALUES (?,?,?,?,?,?)", (source, t.sheet, name, ",".join(map(str, t.header_rows)),
                                                              len(t.rows), int(t.pivot)))
                    sid = int(cur.lastrowid)
                    db.executemany("INSERT INTO cols(sheet_id, pos, letter, name, type) VALUES (?,?,?,?,?)",
                                   [(sid, i, c.letter, c.name, c.type) for i, c in enumerate(t.columns)])
                    defs = ", ".join(f"v{i} {'REAL' if c.type == 'number' else 'TEXT'}, d{i} TEXT"
                                     for i, c in enumerate(t.columns))
                    db.execute(f"CREATE TABLE t{sid} (row_num INTEGER PRIMARY KEY, {defs})")
                    marks = ", ".join("?" for _ in range(1 + 2 * len(t.columns)))
                    db.executemany(f"INSERT INTO t{sid} VALUES ({marks})",
                                   [(num, *[x for v, d in cells for x in (v, d)]) for num, cells in t.rows])
                    if row_tokens is not None:
                        header = " ".join(c.name for c in t.columns)
                        db.executemany("INSERT INTO row_fts(tokens, sheet_id, row_num) VALUES (?,?,?)",
                                       [(" ".join(row_tokens(" ".join(d for _, d in cells) + " " + header)), sid, num)
                                        for num, cells in t.rows])
                    names.append(name)
                db.execute("INSERT INTO sources(source, content_hash, access_groups, loaded_at, notes) VALUES (?,?,?,?,?)",
                           (source, content_hash, groups, datetime.now(timezone.utc).isoformat(timespec="seconds"),
                            json.dumps(list(notes), ensure_ascii=False)))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return names

    def remove_source(self, source: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._delete(source)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _delete(self, source: str) -> None:
        db = self._db
        for (sid,) in db.execute("SELECT id FROM sheets WHERE source = ?", (source,)).fetchall():
            db.execute(f"DROP TABLE IF EXISTS t{int(sid)}")
            db.execute("DELETE FROM cols WHERE sheet_id = ?", (sid,))
            db.execute("DELETE FROM row_fts WHERE sheet_id = ?", (sid,))
        db.execute("DELETE FROM sheets WHERE source = ?", (source,))
        db.execute("DELETE FROM sources WHERE source = ?", (source,))

    # -- reading -------------------------------------------------------------------------
    def tables(self, principal: Principal) -> list[TableInfo]:
        """Every table the principal may see."""
        with self._lock:
            sheets = self._db.execute(
                "SELECT s.id, s.name, s.source, s.sheet, s.n_rows, s.header_rows, src.access_groups, s.pivot "
                "FROM sheets s JOIN sources src ON src.source = s.source ORDER BY s.name").fetchall()
            cols = self._db.execute("SELECT sheet_id, pos, letter, name, type FROM cols ORDER BY sheet_id, pos").fetchall()
        by_sheet: dict[int, list[ColumnInfo]] = {}
        for sid, pos, letter, name, kind in cols:
            by_sheet.setdefault(sid, []).append(ColumnInfo(pos, letter, name, kind))
        out = []
        for sid, name, source, sheet, n, header_rows, groups, pivot in sheets:
            groups = tuple(json.loads(groups))
            if principal.can_see(groups):
                out.append(TableInfo(sid, name, source, sheet, n, header_rows, tuple(by_sheet.get(sid, ())), groups,
                                     bool(pivot)))
        return out

    def sources(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT source, content_hash, access_groups, loaded_at, notes FROM sources "
                                    "ORDER BY source").fetchall()
        return [{"source": s, "content_hash": h, "access_groups": json.loads(g), "loaded_at": t,
                 "notes": json.loads(n)} for s, h, g, t, n in rows]

    def resolve_table(self, name: str, principal: Principal) -> TableInfo:
        """A table by full name, file name, file stem or sheet name (when unique)."""
        visible = self.tables(principal)
        wanted = normalise_key(name)
        for keyf in (lambda t: t.name, lambda t: t.source.rsplit("/", 1)[-1] + "!" + t.sheet,
                     lambda t: t.source, lambda t: t.source.rsplit("/", 1)[-1],
                     lambda t: t.source.rsplit("/", 1)[-1].rsplit(".", 1)[0], lambda t: t.sheet):
            found = [t for t in visible if normalise_key(keyf(t)) == wanted]
            if len(found) == 1:
                return found[0]
        names = ", ".join(t.name for t in visible) or "(none loaded)"
        raise FactError(f"unknown table '{name}'. Available tables: {names}")

    def query(self, table: TableInfo, filters: list[Filter], columns: list[str] | None,
              limit: int) -> TableResult:
        """Rows of ``table`` matching every filter (bound parameters only), capped at ``limit``."""
        cols = [resolve_column(table, c) for c in columns] if columns else list(table.columns)
        where, params = build_where(table, filters)
        select = ", ".join(f"d{c.pos}" for c in cols)
        with self._lock:
            total = self._db.execute(f"SELECT count(*) FROM t{table.id}{where}", params).fetchone()[0]
            rows = self._db.execute(f"SELECT row_num, {select} FROM t{table.id}{where} ORDER BY row_num LIMIT ?",
                                    (*params, limit)).fetchall()
        return TableResult(table, [_hit(table, cols, r) for r in rows], total)

    def aggregate(self, table: TableInfo, filters: list[Filter], spec: Aggregate, max_groups: int) -> AggregateResult:
        """``spec`` over the rows matching every filter, computed in SQLite (bound parameters only):
        the whole result, and per group (at most ``spec.limit`` or ``max_groups``) when grouped."""
        p = plan(table, spec)
        where, params = build_where(table, filters)
        total_sql, total_params = build_sql(table, p, where, params, grouped=False, limit=None)
        with self._lock:
            total = group_from_row(self._db.execute(total_sql, total_params).fetchone(), 0)
            groups, n_groups = [], 0
            if p.group_by:
                limit = min(spec.limit or max_groups, max_groups)
                sql, args = build_sql(table, p, where, params, grouped=True, limit=limit)
                groups = [group_from_row(r, len(p.group_by)) for r in self._db.execute(sql, args).fetchall()]
                n_groups = self._db.execute(count_groups_sql(table, p, where), params).fetchone()[0]
        return AggregateResult(table, p, list(filters), total, groups, n_groups)

    def distinct_texts(self, table: TableInfo, column: ColumnInfo, limit: int = 2000,
                       max_chars: int = 80) -> list[str]:
        """Up to ``limit`` distinct cell texts of one column (at most ``max_chars`` long), for
        recognising values named in a question. ``table`` comes from :meth:`tables` (access
        already checked); the identifiers come from its metadata."""
        if column not in table.columns:
            raise FactError(f"column '{column.name}' is not in table '{table.name}'")
        d = f"d{column.pos}"
        with self._lock:
            rows = self._db.execute(f"SELECT DISTINCT {d} FROM t{table.id} WHERE {d} != '' AND length({d}) <= ? "
                                    f"LIMIT ?", (max_chars, limit)).fetchall()
        return [r[0] for r in rows]

    def rows(self, table: TableInfo, row_nums: list[int]) -> list[RowHit]:
        if not row_nums:
            return []
        marks = ",".join("?" for _ in row_nums)
        select = ", ".join(f"d{c.pos}" for c in table.columns)
        with self._lock:
            rows = self._db.execute(f"SELECT row_num, {select} FROM t{table.id} WHERE row_num IN ({marks})",
                                    row_nums).fetchall()
        by_num = {r[0]: _hit(table, list(table.columns), r) for r in rows}
        return [by_num[n] for n in row_nums if n in by_num]

    def search_rows(self, query_tokens: list[str], principal: Principal, limit: int = 20) -> list[RowHit]:
        """Rows ranked by FTS5 BM25 over their tokens, only in tables the principal may see."""
        uniq = list(dict.fromkeys(t for t in query_tokens if t.strip()))
        if not uniq:
            return []
        visible = {t.id: t for t in self.tables(principal)}
        if not visible:
            return []
        expr = " OR ".join('"' + t.replace('"', '""') + '"' for t in uniq)
        marks = ",".join("?" for _ in visible)
        with self._lock:
            found = self._db.execute(
                f"SELECT sheet_id, row_num, bm25(row_fts) FROM row_fts WHERE row_fts MATCH ? "
                f"AND sheet_id IN ({marks}) ORDER BY bm25(row_fts) LIMIT ?",
                (expr, *visible, limit)).fetchall()
        hits = []
        for sid, num, score in found:
            for h in self.rows(visible[sid], [num]):
                hits.append(RowHit(h.table, h.row_num, h.cells, -float(score)))
        return hits


def _hit(table: TableInfo, cols: list[ColumnInfo], row: tuple) -> RowHit:
    num = row[0]
    cells = tuple(Cell(c.name, text or "", f"{c.letter}{num}") for c, text in zip(cols, row[1:]))
    return RowHit(table, num, cells)

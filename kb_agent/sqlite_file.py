"""The small SQLite files of the data directory (usage and audit log, conversations, feedback):
a connection per call, in WAL mode, so each store is safe to use from several threads and
processes on one host."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=10)
    db.execute("PRAGMA journal_mode=WAL")
    return db


def create(path: Path, schema: str) -> Path:
    """``path`` with ``schema`` applied (its folder made when missing); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(connect(path)) as db, db:
        db.executescript(schema)
    return path

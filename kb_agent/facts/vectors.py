"""A persistent cache of phrasing embeddings, so a restart does not re-embed every fact.

Dict-like on ``(model_id, text)`` keys (what FactIndex uses), kept in memory and in a small
SQLite table; a key is the text's hash, so edited phrasings simply miss and are embedded.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np

from kb_agent.chunk import text_hash


class VectorCache:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._memory: dict[tuple[str, str], np.ndarray] = {}
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        with self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS fact_vectors(model_id TEXT, text_hash TEXT, vec BLOB, "
                             "PRIMARY KEY(model_id, text_hash))")

    def __contains__(self, key: tuple[str, str]) -> bool:
        if key in self._memory:
            return True
        with self._lock:
            row = self._db.execute("SELECT vec FROM fact_vectors WHERE model_id = ? AND text_hash = ?",
                                   (key[0], text_hash(key[1]))).fetchone()
        if row is None:
            return False
        self._memory[key] = np.frombuffer(row[0], dtype=np.float32).copy()
        return True

    def __getitem__(self, key: tuple[str, str]) -> np.ndarray:
        if key not in self:
            raise KeyError(key)
        return self._memory[key]

    def __setitem__(self, key: tuple[str, str], vec: np.ndarray) -> None:
        vec = np.asarray(vec, dtype=np.float32)
        self._memory[key] = vec
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO fact_vectors(model_id, text_hash, vec) VALUES (?,?,?)",
                             (key[0], text_hash(key[1]), vec.tobytes()))

    def close(self) -> None:
        self._db.close()

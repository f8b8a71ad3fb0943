"""Metadata filters applied inside the search: access groups, source folder, file type.

:class:`MetaTable` keeps, per (source, access groups), the rowids of its chunks, so turning a
principal and :class:`SearchFilters` into the allowed rowids costs one pass over the sources,
not over the chunks. It is immutable (``updated`` returns a new table) like the BM25 index.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Iterable, Mapping

import numpy as np

from kb_agent.access import Principal


@dataclass(frozen=True)
class SearchFilters:
    """``folders``: source path prefixes ("products", "hr/"); ``file_types``: suffixes ("pdf")."""

    folders: tuple[str, ...] = ()
    file_types: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "SearchFilters | None":
        """Validate a JSON filter object; raises ValueError naming the bad field."""
        if not data:
            return None
        if not isinstance(data, Mapping):
            raise ValueError("filters must be an object with 'folders' and/or 'file_types'")
        unknown = set(data) - {"folders", "file_types"}
        if unknown:
            raise ValueError(f"unknown filter field(s) {sorted(unknown)}; expected folders, file_types")

        def strings(name: str) -> tuple[str, ...]:
            value = data.get(name) or ()
            if isinstance(value, str):
                value = (value,)
            if not all(isinstance(v, str) and v.strip() for v in value):
                raise ValueError(f"filters.{name} must be a list of non-empty strings")
            return tuple(value)

        folders = tuple(f.strip().strip("/").replace("\\", "/") for f in strings("folders"))
        types = tuple(t.strip().lower().lstrip(".") for t in strings("file_types"))
        return cls(folders, types) if folders or types else None

    def to_dict(self) -> dict[str, list[str]]:
        return {"folders": list(self.folders), "file_types": list(self.file_types)}

    def matches(self, source: str) -> bool:
        if self.folders and not any(source == f or source.startswith(f + "/") for f in self.folders):
            return False
        if self.file_types and file_type(source) not in self.file_types:
            return False
        return True


def file_type(source: str) -> str:
    return PurePosixPath(source).suffix.lower().lstrip(".")


@dataclass(frozen=True, eq=False)
class IdFilter:
    """Which rowids a search may return: exactly ``ids`` (``exclude=False``) or every id but
    ``ids`` (``exclude=True``, cheaper when a few restricted documents are hidden from most
    users). ``ids`` is sorted int64. Instances are cached per snapshot, so stores may cache
    what they derive from one (FAISS selectors, BM25 masks) by identity."""

    ids: np.ndarray
    exclude: bool = False

    def allows(self, rowids: np.ndarray) -> np.ndarray:
        inside = np.isin(rowids, self.ids)
        return ~inside if self.exclude else inside

    @classmethod
    def only(cls, rowids) -> "IdFilter":
        return cls(np.unique(np.asarray(rowids, dtype=np.int64)), False)


#: Distinct (principal, filters) keys remembered per snapshot.
_CACHE_SIZE = 64


class MetaTable:
    """Per (source, access groups): the rowids of its chunks (sorted int64 arrays). Immutable."""

    def __init__(self, groups: Mapping[tuple[str, tuple[str, ...]], np.ndarray] | None = None):
        self._groups: dict[tuple[str, tuple[str, ...]], np.ndarray] = dict(groups or {})
        self._count = int(sum(len(v) for v in self._groups.values()))
        self._cache: dict[tuple, IdFilter | None] = {}
        self._lock = threading.Lock()

    @classmethod
    def build(cls, rows: Iterable[tuple[int, str, tuple[str, ...]]]) -> "MetaTable":
        return cls().updated(rows, ())

    def updated(self, added: Iterable[tuple[int, str, tuple[str, ...]]], removed: Iterable[int]) -> "MetaTable":
        """``added``: (rowid, source, access_groups) rows; ``removed``: rowids."""
        gone = np.asarray(sorted({int(r) for r in removed}), dtype=np.int64)
        groups = {k: (v[~np.isin(v, gone)] if len(gone) else v) for k, v in self._groups.items()}
        fresh: dict[tuple[str, tuple[str, ...]], list[int]] = {}
        for rowid, source, access in added:
            fresh.setdefault((source, tuple(sorted(access))), []).append(int(rowid))
        for key, ids in fresh.items():
            old = groups.get(key)
            groups[key] = np.union1d(old, ids) if old is not None else np.unique(np.asarray(ids, dtype=np.int64))
        return MetaTable({k: v for k, v in groups.items() if len(v)})

    def __len__(self) -> int:
        return self._count

    def sources(self) -> list[str]:
        return sorted({s for s, _ in self._groups})

    def allowed(self, principal: Principal, filters: SearchFilters | None) -> IdFilter | None:
        """What the principal may see under ``filters``; None means every chunk (no filter)."""
        key = (principal.is_admin, frozenset(principal.groups), filters)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        keep, drop = [], []
        for (source, access), rowids in self._groups.items():
            ok = principal.can_see(access) and (filters is None or filters.matches(source))
            (keep if ok else drop).append(rowids)
        if not drop:
            result = None
        else:
            n_keep = sum(len(a) for a in keep)
            n_drop = sum(len(a) for a in drop)
            if n_drop < n_keep:
                result = IdFilter(np.sort(np.concatenate(drop)), exclude=True)
            else:
                result = IdFilter(np.sort(np.concatenate(keep)) if keep else np.zeros(0, np.int64), exclude=False)
        with self._lock:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = result
        return result

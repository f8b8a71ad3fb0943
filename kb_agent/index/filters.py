"""Metadata filters applied inside the search: access groups, source folder, file type.

:class:`MetaTable` keeps, per (source, access groups), the rowids of its chunks, so turning a
principal and :class:`SearchFilters` into the allowed rowids costs one pass over the sources,
not over the chunks. It is immutable (``updated`` returns a new table) like the BM25 index.
"""

from __future__ import annotations

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


class MetaTable:
    def __init__(self, groups: Mapping[tuple[str, tuple[str, ...]], frozenset[int]] | None = None):
        self._groups: dict[tuple[str, tuple[str, ...]], frozenset[int]] = dict(groups or {})
        self._count = sum(len(v) for v in self._groups.values())

    @classmethod
    def build(cls, rows: Iterable[tuple[int, str, tuple[str, ...]]]) -> "MetaTable":
        return cls().updated(rows, ())

    def updated(self, added: Iterable[tuple[int, str, tuple[str, ...]]], removed: Iterable[int]) -> "MetaTable":
        """``added``: (rowid, source, access_groups) rows; ``removed``: rowids."""
        groups = {k: set(v) for k, v in self._groups.items()}
        gone = {int(r) for r in removed}
        if gone:
            for key in list(groups):
                groups[key] -= gone
        for rowid, source, access in added:
            rowid = int(rowid)
            groups.setdefault((source, tuple(sorted(access))), set()).add(rowid)
        return MetaTable({k: frozenset(v) for k, v in groups.items() if v})

    def __len__(self) -> int:
        return self._count

    def sources(self) -> list[str]:
        return sorted({s for s, _ in self._groups})

    def allowed(self, principal: Principal, filters: SearchFilters | None) -> np.ndarray | None:
        """Rowids the principal may see under ``filters``; None means every chunk (no filter)."""
        restricted = False
        keep: list[frozenset[int]] = []
        for (source, access), rowids in self._groups.items():
            if principal.can_see(access) and (filters is None or filters.matches(source)):
                keep.append(rowids)
            else:
                restricted = True
        if not restricted:
            return None
        if not keep:
            return np.zeros(0, np.int64)
        return np.fromiter((r for s in keep for r in s), dtype=np.int64)

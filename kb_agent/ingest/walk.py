"""Find the files to ingest under the given paths, with their source names and access groups.

``source`` is the path relative to the ingested root (POSIX). A path inside a root the store
already knows keeps that root, so ``ingest kb/finance/x.md`` after ``ingest kb`` updates
``finance/x.md`` rather than creating ``x.md``. Access groups come from the nearest
``_access.yaml`` (``groups: [finance]``) between the file's folder and the root; default
``["everyone"]``. An invalid ``_access.yaml`` fails its files closed (reported, not ingested).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

ACCESS_FILE = "_access.yaml"
DEFAULT_GROUPS = ("everyone",)


@dataclass(frozen=True)
class FileTask:
    root: Path
    path: Path
    source: str
    access_groups: tuple[str, ...]
    access_error: str | None = None


@dataclass(frozen=True)
class Scope:
    """Sources under ``root`` starting with ``prefix`` were all listed: others were deleted."""

    root: Path
    prefix: str  # "" for the whole root, "dir/" for a folder, "dir/x.md" for one file
    is_file: bool = False
    #: Folders that could not be listed: their sources are kept, not taken for deleted.
    unlisted: tuple[str, ...] = ()

    def covers(self, source: str) -> bool:
        if any(source.startswith(u) for u in self.unlisted):
            return False
        return source == self.prefix if self.is_file else source.startswith(self.prefix)


class AccessResolver:
    def __init__(self) -> None:
        self._cache: dict[Path, tuple[tuple[str, ...] | None, str | None]] = {}

    def _read(self, folder: Path) -> tuple[tuple[str, ...] | None, str | None]:
        if folder not in self._cache:
            f = folder / ACCESS_FILE
            if not f.is_file():
                self._cache[folder] = (None, None)
            else:
                try:
                    data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
                    groups = data.get("groups") if isinstance(data, dict) else None
                    if not isinstance(groups, list) or not groups or not all(isinstance(g, str) and g.strip()
                                                                             for g in groups):
                        raise ValueError("field `groups` must be a non-empty list of group names")
                    self._cache[folder] = (tuple(g.strip() for g in groups), None)
                except (OSError, yaml.YAMLError, ValueError) as exc:
                    mark = getattr(exc, "problem_mark", None)
                    where = f"{f}:{mark.line + 1}" if mark else str(f)
                    self._cache[folder] = (None, f"invalid {ACCESS_FILE} ({where}: {getattr(exc, 'problem', exc)})")
        return self._cache[folder]

    def groups_for(self, path: Path, root: Path) -> tuple[tuple[str, ...], str | None]:
        """The nearest ``_access.yaml`` in the file's folder or any folder above it — also above
        the ingested root, so ingesting ``kb/hr/payroll`` alone still honours ``kb/hr/_access.yaml``
        (fail closed). ``root`` is kept for callers; the walk does not stop there."""
        folder = path.parent
        while True:
            groups, error = self._read(folder)
            if error:
                return (), error
            if groups:
                return groups, None
            if folder.parent == folder:
                return DEFAULT_GROUPS, None
            folder = folder.parent


def _root_for(path: Path, known_roots: list[Path]) -> Path:
    best = None
    for r in known_roots:
        if (path == r or r in path.parents) and (best is None or len(r.parts) > len(best.parts)):
            best = r
    if best is not None:
        return best
    return path if path.is_dir() else path.parent


def discover(paths: list[Path], known_roots: list[str]) -> tuple[list[FileTask], list[Scope], list[tuple[str, str]]]:
    """(files, scopes for deletion detection, (path, reason) for what could not be listed)."""
    roots = [Path(r) for r in known_roots]
    access = AccessResolver()
    tasks: dict[str, FileTask] = {}
    scopes: list[Scope] = []
    missing: list[tuple[str, str]] = []
    for raw in paths:
        p = Path(raw).expanduser().absolute()
        if not p.exists():
            missing.append((str(raw), "not found"))
            continue
        p = p.resolve()
        root = _root_for(p, roots)
        if p.is_file():
            rel = p.relative_to(root).as_posix()
            scopes.append(Scope(root, rel, is_file=True))
            files = [p]
        else:
            rel = p.relative_to(root).as_posix()
            unlisted: list[str] = []

            def unreadable(err: OSError, root=root) -> None:
                folder = Path(err.filename).relative_to(root).as_posix()
                unlisted.append("" if folder == "." else folder + "/")
                missing.append((folder + "/", "permission denied (folder not listed; its files are kept)"
                                if isinstance(err, PermissionError) else f"folder not listed ({err.strerror})"))

            files = []
            for dirpath, dirnames, filenames in os.walk(p, followlinks=False, onerror=unreadable):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.startswith(".") or name == ACCESS_FILE:
                        continue
                    files.append(Path(dirpath) / name)
            scopes.append(Scope(root, "" if rel == "." else rel + "/", unlisted=tuple(unlisted)))
        for f in files:
            source = f.relative_to(root).as_posix()
            groups, error = access.groups_for(f, root)
            tasks.setdefault(source, FileTask(root, f, source, groups, error))
    return list(tasks.values()), scopes, missing

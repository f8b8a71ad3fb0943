"""Find the files to ingest under the given paths, with their source names and access groups.

``source`` is the path relative to the ingested root (POSIX). A path inside a root the store
already knows keeps that root, so ``ingest kb/finance/x.md`` after ``ingest kb`` updates
``finance/x.md`` rather than creating ``x.md``. Access groups come from the nearest
``_access.yaml`` (``groups: [finance]``) in the file's folder or above; default
``["everyone"]``. An invalid ``_access.yaml`` fails its files closed (reported, not ingested).

Symlinks cannot carry content past access groups: a link to a file inside the root is read
as its target, with the target's own folder's groups; a link that leads out of the root,
dangles, loops, or points at a hidden file is refused with a reason; a link to a folder is
never followed. Hidden names (``.x``) and names that are not valid UTF-8 are skipped with a
line each. Everything not read is a :class:`Refused` line.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from kb_agent.yamlsource import safe_load

ACCESS_FILE = "_access.yaml"
DEFAULT_GROUPS = ("everyone",)


@dataclass(frozen=True)
class FileTask:
    root: Path
    path: Path
    source: str
    access_groups: tuple[str, ...]
    access_error: str | None = None
    #: ``source`` is a symlink and ``path`` its real target (inside ``root``).
    link: bool = False


@dataclass(frozen=True)
class Refused:
    """A name that gets a report line but is not read (a link out, a hidden file, ...)."""

    path: str  # the source as it would be (printable), or the argument
    status: str  # "skipped" | "failed"
    reason: str
    root: str = ""


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
                    data = safe_load(f.read_text(encoding="utf-8")) or {}  # a repeated key is an error
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


def printable(name: str) -> str:
    """``name`` as it can be stored and printed: bytes of a file name that are not UTF-8
    (Python's surrogate escapes) become ``\\xNN``."""
    if _utf8_ok(name):
        return name
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _utf8_ok(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def link_target(link: Path, root: Path) -> tuple[Path | None, str]:
    """(the real file, "") when the symlink ``link`` may be ingested, else (None, the reason).

    Only a file inside ``root`` (resolved) qualifies, and not a hidden one or an access file;
    a folder is never followed (no loops, no second name for the same files).
    """
    try:
        target = link.resolve(strict=True)
    except FileNotFoundError:
        return None, "dangling symlink (its target does not exist)"
    except RuntimeError:  # Python 3.11: "Symlink loop from ..."
        return None, "symlink loop"
    except OSError as exc:
        return None, "symlink loop" if exc.errno == errno.ELOOP else f"symlink cannot be followed ({exc.strerror})"
    is_dir = target.is_dir()
    if target != root and root not in target.parents:
        return None, ("symlink to a folder outside the ingested folder (not followed)" if is_dir
                      else "symlink to a file outside the ingested folder")
    rel = target.relative_to(root)
    if is_dir:
        return None, f"symlink to folder {rel.as_posix()} (not followed; its files are ingested under their own path)"
    if any(part.startswith(".") for part in rel.parts):
        return None, "symlink to a hidden file"
    if target.name == ACCESS_FILE:
        return None, f"symlink to an {ACCESS_FILE} file"
    if not _utf8_ok(str(target)):
        return None, "symlink to a file whose name is not valid UTF-8"
    return target, ""


def discover(paths: list[Path], known_roots: list[str]) -> tuple[list[FileTask], list[Scope], list[Refused]]:
    """(files to read, scopes for deletion detection, names that get a report line only)."""
    roots = [Path(r) for r in known_roots]
    access = AccessResolver()
    tasks: dict[str, FileTask] = {}
    scopes: list[Scope] = []
    refused: list[Refused] = []
    for raw in paths:
        lex = Path(raw).expanduser().absolute()
        if not _utf8_ok(str(lex)):
            refused.append(Refused(printable(str(raw)), "failed", "path is not valid UTF-8 (rename it to ingest it)"))
            continue
        if lex.is_symlink() and not lex.is_dir():
            # A file named through a link is checked like one found in a folder: it may not
            # lead out of the root it lives in. (A folder link names the root itself.)
            link = lex.parent.resolve() / lex.name
            if not _utf8_ok(str(link)):
                refused.append(Refused(printable(str(link)), "failed", "path is not valid UTF-8 (rename it to ingest it)"))
                continue
            root = _root_for(link, roots)
            rel = link.relative_to(root).as_posix()
            scopes.append(Scope(root, rel, is_file=True))
            target, why = link_target(link, root)
            if target is None:
                refused.append(Refused(rel, "skipped", why, str(root)))
                continue
            found = [(link, target)]
        elif not lex.exists():
            refused.append(Refused(str(raw), "failed", "not found"))
            continue
        else:
            p = lex.resolve()
            if not _utf8_ok(str(p)):  # named through a link to a folder whose name is not UTF-8
                refused.append(Refused(printable(str(p)), "failed", "path is not valid UTF-8 (rename it to ingest it)"))
                continue
            root = _root_for(p, roots)
            rel = p.relative_to(root).as_posix()
            if p.is_file():
                scopes.append(Scope(root, rel, is_file=True))
                found = [(p, p)]
            else:
                found, unlisted = _walk(p, root, refused)
                scopes.append(Scope(root, "" if rel == "." else rel + "/", unlisted=tuple(unlisted)))
        for name, target in found:
            source = name.relative_to(root).as_posix()
            groups, error = access.groups_for(target, root)  # a link: its target's own folder decides
            tasks.setdefault(source, FileTask(root, target, source, groups, error, link=name != target))
    return list(tasks.values()), scopes, refused


def _walk(top: Path, root: Path, refused: list[Refused]) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(name, real file) pairs under ``top``; every other name gets a line in ``refused``."""
    unlisted: list[str] = []
    found: list[tuple[Path, Path]] = []

    def unreadable(err: OSError) -> None:
        folder = printable(Path(err.filename).relative_to(root).as_posix())
        unlisted.append("" if folder == "." else folder + "/")
        refused.append(Refused(folder + "/", "failed", "permission denied (folder not listed; its files are kept)"
                               if isinstance(err, PermissionError) else f"folder not listed ({err.strerror})"))

    def skip(path: Path, reason: str, folder: bool = False) -> None:
        rel = printable(path.relative_to(root).as_posix())
        refused.append(Refused(rel + ("/" if folder else ""), "skipped", reason, str(root)))

    for dirpath, dirnames, filenames in os.walk(top, followlinks=False, onerror=unreadable):
        here = Path(dirpath)
        listed = []
        for d in sorted(dirnames):
            full = here / d
            if not _utf8_ok(d):
                skip(full, "folder name is not valid UTF-8 (not listed; rename it to ingest it)", folder=True)
            elif full.is_symlink():
                skip(full, link_target(full, root)[1])
            elif d.startswith("."):
                skip(full, "hidden folder (not listed)", folder=True)
            else:
                listed.append(d)
        dirnames[:] = listed
        for name in sorted(filenames):
            full = here / name
            if name == ACCESS_FILE:
                continue  # the folder's settings, not a document
            if not _utf8_ok(name):
                skip(full, "file name is not valid UTF-8 (rename it to ingest it)")
            elif name.startswith("."):
                skip(full, "hidden file")
            elif full.is_symlink():
                target, why = link_target(full, root)
                if target is None:
                    skip(full, why)
                else:
                    found.append((full, target))
            else:
                found.append((full, full))
    return found, unlisted

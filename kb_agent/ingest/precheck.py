"""Before a file is parsed: can it be, and need it be? And just before its commit: is it still
the file that was read?

``precheck`` stats the file, applies the size/type rules and the unchanged detection (same
size, mtime, real path and identity: no read; else same content hash: read, no parse; plus
the same root, access groups and parser signature). ``still_as_read`` checks identity,
size, mtime and a second hash against what ``precheck`` saw.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path

from kb_agent.config import IngestSettings
from kb_agent.ingest.parsers import parser_for, skip_reason
from kb_agent.ingest.report import FileOutcome
from kb_agent.ingest.walk import FileTask
from kb_agent.store.chunks import ChunkStore, SourceRecord, file_identity

#: Failures worth retrying on the next run even when the file did not change.
TRANSIENT = ("timed out", "parser crashed", "out of memory", "permission denied", "embedding failed",
             "changed while reading")


@dataclass(frozen=True)
class ToParse:
    """A file that needs parsing, with what was seen of it before."""

    task: FileTask
    st: os.stat_result
    digest: str
    prev: SourceRecord | None


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def precheck(task: FileTask, store: ChunkStore, settings: IngestSettings, signature: str,
             force: bool = False) -> FileOutcome | ToParse:
    """The file's outcome when it needs no parse, else what to parse. ``force``: parse even
    when it looks unchanged (a retry after a change)."""
    def out(status, reason=None, chunks=0):
        return FileOutcome(task.source, status, chunks, reason, root=str(task.root))

    if task.access_error:
        return out("failed", task.access_error)
    try:
        st = os.stat(task.path)
    except PermissionError:
        return out("failed", "permission denied")
    except OSError as exc:
        return out("failed", f"cannot read file ({exc.strerror})")
    if not stat.S_ISREG(st.st_mode):
        return out("skipped", "not a regular file")
    suffix = task.path.suffix.lower()
    if parser_for(suffix) is None:
        return out("skipped", skip_reason(suffix))
    if task.path.name.startswith("~$"):
        return out("skipped", "Office lock file")
    if st.st_size == 0:
        return out("skipped", "empty file (0 bytes)")
    cap = settings.max_file_mb * 2**20
    if st.st_size > cap:
        return out("skipped", f"too large ({st.st_size / 2**20:.1f} MiB > ingest.max_file_mb "
                              f"{settings.max_file_mb:g})")
    prev = store.source(task.source)
    if prev and prev.root != str(task.root) and (Path(prev.root) / task.source).exists():
        return out("failed", f"the same relative path was ingested from {prev.root}; "
                             "ingest their common parent folder instead")
    same_meta = prev and prev.root == str(task.root) and prev.signature == signature \
        and tuple(prev.access_groups) == tuple(task.access_groups)
    retry = force or (prev and prev.status == "failed" and (prev.reason or "").startswith(TRANSIENT))
    real, fid = str(task.path), file_identity(st)
    if same_meta and not retry and prev.size == st.st_size and prev.mtime == st.st_mtime:
        if prev.real_path == real and prev.file_id == fid:
            return unchanged(task, prev)
        if not prev.real_path and not task.link:  # a record from before identities were kept
            store.record_outcome(replace(prev, real_path=real, file_id=fid))
            return unchanged(task, prev)
    try:
        digest = file_hash(task.path)
    except PermissionError:
        return out("failed", "permission denied")
    except OSError as exc:
        return out("failed", f"cannot read file ({exc.strerror})")
    if same_meta and not retry and prev.content_hash == digest:
        store.record_outcome(replace(prev, mtime=st.st_mtime, size=st.st_size, real_path=real, file_id=fid))
        return unchanged(task, prev)
    return ToParse(task, st, digest, prev)


def still_as_read(todo: ToParse) -> bool:
    """Is the file still the one stat'ed and hashed before it was parsed?"""
    st = todo.st
    try:
        now = os.stat(todo.task.path)
        return (file_identity(now), now.st_size, now.st_mtime_ns) == (file_identity(st), st.st_size,
                                                                      st.st_mtime_ns) \
            and file_hash(todo.task.path) == todo.digest
    except OSError:
        return False


def unchanged(task: FileTask, prev: SourceRecord) -> FileOutcome:
    if prev.status == "failed":
        return FileOutcome(task.source, "failed", prev.chunks, prev.reason, root=str(task.root))
    return FileOutcome(task.source, "unchanged", prev.chunks, root=str(task.root))

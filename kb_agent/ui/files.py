"""Which source file a download request may return, for whom.

A request names a source as the chunk store knows it (relative path); the file is served only
if the store has it, the principal may see its access groups, and the path still leads to the
file that was ingested: the same real path inside the root it was ingested from (a link's
target, when the source was a link), the same file (device, inode, change time), size and
mtime as recorded. A file replaced by a link, relinked, swapped or edited since is refused
until it is ingested again, so a path cannot be pointed at content its access groups do not
cover. Everything else is refused the same way, so a crafted URL learns nothing about what
exists. Records from before schema 2 (no identity) are served only through no link.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from kb_agent.access import Principal
from kb_agent.errors import AccessDenied
from kb_agent.store.chunks import file_identity


def _ok_source_name(source: str) -> bool:
    if not source or len(source) > 1000 or "\x00" in source or "\\" in source:
        return False
    p = PurePosixPath(source)
    return not p.is_absolute() and ".." not in p.parts


def resolve_download(store, principal: Principal, source: str) -> Path:
    """The file to send, or AccessDenied (unknown, not allowed, missing or outside its root)."""
    denied = AccessDenied("This document is not available to you.")
    if store is None or not _ok_source_name(source):
        raise denied
    record = store.source(source)
    if record is None or record.status != "ok" or not principal.can_see(record.access_groups):
        raise denied
    if not record.root:
        raise denied
    root = Path(record.root).resolve()
    try:
        target = (root / source).resolve(strict=True)
        st = os.stat(target)
    except (OSError, RuntimeError):  # gone, a dangling link, a loop
        raise denied from None
    expected = Path(record.real_path) if record.real_path else root / source
    if target != expected or not target.is_relative_to(root) or not stat.S_ISREG(st.st_mode):
        raise denied
    if record.file_id and (file_identity(st), st.st_size, st.st_mtime) != (record.file_id, record.size, record.mtime):
        raise denied
    return target


def visible_sources(store, principal: Principal) -> set[str]:
    if store is None:
        return set()
    return {r.path for r in store.sources() if r.status == "ok" and principal.can_see(r.access_groups)}

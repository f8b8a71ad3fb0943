"""Which source file a download request may return, for whom.

A request names a source as the chunk store knows it (relative path); the file is served only
if the store has it, the principal may see its access groups, and the resolved path stays
inside the root it was ingested from (no traversal, no symlink escape). Everything else is
refused the same way, so a crafted URL learns nothing about what exists.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from kb_agent.access import Principal
from kb_agent.errors import AccessDenied


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
    target = (root / source).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise denied
    return target


def visible_sources(store, principal: Principal) -> set[str]:
    if store is None:
        return set()
    return {r.path for r in store.sources() if r.status == "ok" and principal.can_see(r.access_groups)}

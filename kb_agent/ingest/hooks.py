"""Hooks other stores register with the ingestion pipeline.

The pipeline calls ``on_file`` after a file has been parsed successfully (inside the same
run, before the run's commit) and ``on_remove`` when a file disappeared or changed. The
fact store uses this to load spreadsheets into SQLite tables. A hook's failure is reported
for that file and never stops the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Protocol


class IngestHook(Protocol):
    name: str

    def on_file(self, source: str, path: Path, metadata: Mapping[str, Any]) -> None:
        """``source``: path relative to the ingested root (POSIX); ``metadata`` includes
        ``access_groups``, ``content_hash``, ``mtime``, ``doc_title``."""

    def on_remove(self, source: str) -> None:
        """The file at ``source`` was deleted (or is about to be replaced)."""

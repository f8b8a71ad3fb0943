"""The live glossary: loads every YAML file in the glossary folder and reloads on change.

Guarantees for admins:
- one bad file or entry never takes the others down;
- a file that becomes invalid keeps its last good version live (its issues are reported);
- edits are picked up without a restart: ``current()`` checks file signatures (mtime,
  size) at most every ``reload_check_s`` seconds and rebuilds the snapshot when they change.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from kb_agent.glossary.index import Glossary
from kb_agent.glossary.loader import glossary_files, load_glossary_file, parse_glossary_text
from kb_agent.glossary.model import FileLoad, GlossaryIssue

log = logging.getLogger(__name__)


class GlossaryStore:
    def __init__(self, directory: Path, reload_check_s: float = 1.0, fuzzy_cutoff: float = 0.75):
        self.directory = Path(directory)
        self.reload_check_s = reload_check_s
        self.fuzzy_cutoff = fuzzy_cutoff
        self._lock = threading.Lock()
        self._live: dict[str, FileLoad] = {}        # per file: the version being served
        self._issues: tuple[GlossaryIssue, ...] = ()
        self._signatures: dict[Path, tuple[float, int]] = {}
        self._snapshot = Glossary((), fuzzy_cutoff)
        self._last_check = 0.0
        self.reload()

    # -- reading -------------------------------------------------------------------------
    def current(self) -> Glossary:
        """The live snapshot, reloaded first if files changed since the last check."""
        now = time.monotonic()
        if now - self._last_check >= self.reload_check_s:
            self._last_check = now
            if self._scan() != self._signatures:
                self.reload()
        return self._snapshot

    @property
    def issues(self) -> tuple[GlossaryIssue, ...]:
        return self._issues

    def _scan(self) -> dict[Path, tuple[float, int]]:
        out = {}
        for path in glossary_files(self.directory):
            try:
                st = path.stat()
                out[path] = (st.st_mtime, st.st_size)
            except OSError:
                continue
        return out

    # -- loading -------------------------------------------------------------------------
    def reload(self) -> tuple[GlossaryIssue, ...]:
        """Re-read all files; returns the issues found (also kept in ``issues``)."""
        with self._lock:
            signatures = self._scan()
            live: dict[str, FileLoad] = {}
            issues: list[GlossaryIssue] = []
            for path in signatures:
                loaded = load_glossary_file(path, self.directory)
                previous = self._live.get(loaded.path)
                if loaded.issues and previous is not None and (loaded.fatal or not previous.issues):
                    # An edit broke a file that was good: keep serving the good version.
                    issues.extend(_kept(i) for i in loaded.issues)
                    live[loaded.path] = previous
                else:
                    issues.extend(loaded.issues)
                    live[loaded.path] = loaded
            for issue in issues:
                log.warning("glossary: %s", issue)
            self._live = live
            self._issues = tuple(issues)
            self._signatures = signatures
            self._snapshot = Glossary((e for f in live.values() for e in f.entries), self.fuzzy_cutoff)
            return self._issues

    def validate_text(self, text: str, file_name: str) -> tuple[GlossaryIssue, ...]:
        """Check an edit before it is saved (used by the admin console and `glossary validate`)."""
        return parse_glossary_text(text, file_name).issues

    def save_file(self, file_name: str, text: str) -> tuple[GlossaryIssue, ...]:
        """Validate then atomically write one glossary file; refuses (returns issues) if invalid."""
        name = Path(file_name).name
        if Path(name).suffix.lower() not in (".yaml", ".yml"):
            return (GlossaryIssue(name, None, None, "glossary files must end in .yaml or .yml"),)
        issues = self.validate_text(text, name)
        if issues:
            return issues
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / name
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
        self.reload()
        return ()


def _kept(issue: GlossaryIssue) -> GlossaryIssue:
    return GlossaryIssue(issue.file, issue.line, issue.field, issue.message, kept_previous=True)

"""The live glossary: loads every YAML file in the glossary folder and reloads on change.

Guarantees for admins:
- one bad file or entry never takes the others down;
- a file that becomes invalid keeps its last good version live (its issues are reported);
- edits are picked up without a restart: ``current()`` checks file signatures (mtime,
  size) at most every ``reload_check_s`` seconds and rebuilds the snapshot when they change.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kb_agent.glossary.index import Glossary
from kb_agent.glossary.loader import load_glossary_file, parse_glossary_text
from kb_agent.glossary.model import GlossaryIssue
from kb_agent.yamlsource import LiveFolder

log = logging.getLogger(__name__)


class GlossaryStore:
    def __init__(self, directory: Path, reload_check_s: float = 1.0, fuzzy_cutoff: float = 0.75):
        self.directory = Path(directory)
        self.fuzzy_cutoff = fuzzy_cutoff
        self._files = LiveFolder(self.directory, lambda path: load_glossary_file(path, self.directory),
                                 reload_check_s)
        self._issues: tuple[GlossaryIssue, ...] = ()
        self._snapshot = Glossary((), fuzzy_cutoff)
        self.reload()

    # -- reading -------------------------------------------------------------------------
    def current(self) -> Glossary:
        """The live snapshot, reloaded first if files changed since the last check."""
        if self._files.changed():
            self.reload()
        return self._snapshot

    @property
    def issues(self) -> tuple[GlossaryIssue, ...]:
        return self._issues

    # -- loading -------------------------------------------------------------------------
    def reload(self) -> tuple[GlossaryIssue, ...]:
        """Re-read all files; returns the issues found (also kept in ``issues``)."""
        with self._files.lock:
            live, issues = self._files.load()
            for issue in issues:
                log.warning("glossary: %s", issue)
            self._issues = tuple(issues)
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

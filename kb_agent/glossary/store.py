"""The live glossary: loads every YAML file in the glossary folder and reloads on change.

Guarantees for admins:
- one bad file or entry never takes the others down;
- a file that becomes invalid keeps its last good version live (its issues are reported);
- a file over ``max_file_mb`` is refused unread;
- an exact duplicate entry (same term, meaning and scope, in any file) is reported and served once;
- edits are picked up without a restart: ``current()`` checks file signatures (mtime,
  size) at most every ``reload_check_s`` seconds; a change is loaded in the background and
  swapped in when ready, so answering never waits for a reload.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from kb_agent.glossary.index import Glossary
from kb_agent.glossary.loader import find_duplicates, load_glossary_file, parse_glossary_text
from kb_agent.glossary.model import FileLoad, GlossaryEntry, GlossaryIssue
from kb_agent.yamlsource import LiveFolder, mb_to_bytes, read_limited, too_large, yaml_files

log = logging.getLogger(__name__)


class GlossaryStore:
    def __init__(self, directory: Path, reload_check_s: float = 1.0, fuzzy_cutoff: float = 0.75,
                 max_file_mb: float = 2.0, load_file: Callable[[Path], FileLoad] | None = None):
        """``load_file`` reads one file (default: :func:`load_glossary_file` with the size limit)."""
        self.directory = Path(directory)
        self.fuzzy_cutoff = fuzzy_cutoff
        self.max_bytes = mb_to_bytes(max_file_mb)
        load = load_file or (lambda path: load_glossary_file(path, self.directory, self.max_bytes))
        self._files = LiveFolder(self.directory, load, self._publish, reload_check_s, "glossary")
        self._issues: tuple[GlossaryIssue, ...] = ()
        self._snapshot = Glossary((), fuzzy_cutoff)
        self.reload()

    # -- reading -------------------------------------------------------------------------
    def current(self) -> Glossary:
        """The live snapshot; a change found by the (throttled) check is loaded beside it."""
        self._files.poll()
        return self._snapshot

    @property
    def issues(self) -> tuple[GlossaryIssue, ...]:
        return self._issues

    # -- loading -------------------------------------------------------------------------
    def reload(self) -> tuple[GlossaryIssue, ...]:
        """Re-read all files now; returns the issues found (also kept in ``issues``)."""
        return self._files.reload()

    def wait_reloaded(self, timeout: float | None = None) -> bool:
        """Wait for a background reload started by ``current()``; False if still running."""
        return self._files.wait_reloaded(timeout)

    def _publish(self, live: dict[str, FileLoad], issues: list[GlossaryIssue]) -> tuple[GlossaryIssue, ...]:
        entries, duplicates = find_duplicates(e for f in live.values() for e in f.entries)
        issues = [*issues, *duplicates]
        for issue in issues:
            log.warning("glossary: %s", issue)
        snapshot = Glossary(entries, self.fuzzy_cutoff)
        self._snapshot, self._issues = snapshot, tuple(issues)
        return self._issues

    def read_for_edit(self, file_name: str) -> tuple[str, tuple[GlossaryIssue, ...]]:
        """One glossary file's text for the console's editor, or ``("", issues)`` when it is not a
        file of this folder, cannot be read or is over the size limit (checked before reading)."""
        names = {p.name for p in yaml_files(self.directory)}
        if file_name not in names:
            return "", (GlossaryIssue(file_name, None, None, "not a glossary file of this folder"),)
        text, problem = read_limited(self.directory / file_name, self.max_bytes, "glossary.max_file_mb")
        if text is None:
            return "", (GlossaryIssue(file_name, None, None, problem or ""),)
        return text, ()

    def entries_except(self, file_name: str) -> list[GlossaryEntry]:
        """The live entries of every other file: what a new version of ``file_name`` must not repeat."""
        return [e for path, f in self._files.live.items() if path != file_name for e in f.entries]

    def validate_text(self, text: str, file_name: str) -> tuple[GlossaryIssue, ...]:
        """Check an edit before it is saved (used by the admin console and `glossary validate`)."""
        problem = too_large(len(text.encode("utf-8")), self.max_bytes, "glossary.max_file_mb")
        if problem:
            return (GlossaryIssue(file_name, None, None, problem),)
        parsed = parse_glossary_text(text, file_name)
        _, duplicates = find_duplicates([*self.entries_except(file_name), *parsed.entries])
        return parsed.issues + tuple(d for d in duplicates if d.file == file_name)

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

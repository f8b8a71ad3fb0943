"""The live fact set: loads every YAML file in the facts folder and reloads on change.

Like the glossary: one bad fact never takes the others down, a file that becomes invalid
keeps its last good version live, a file over ``max_file_mb`` is refused unread, and edits are
picked up without a restart (loaded in the background, swapped in whole). Duplicate ids
and two facts answering the same question differently (with overlapping validity) are
reported as conflicts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kb_agent.facts.loader import load_fact_file, parse_facts_text
from kb_agent.facts.model import Fact, FactFileLoad, FactIssue
from kb_agent.text import normalise_key
from kb_agent.yamlsource import LiveFolder, mb_to_bytes, too_large

log = logging.getLogger(__name__)


def find_conflicts(facts: list[Fact]) -> tuple[list[Fact], list[FactIssue], set[frozenset[str]]]:
    """Pure: drop later duplicates of an id; report same-question/different-answer pairs.

    Returns the kept facts, the issues, and the conflicting id pairs (both stay live; the
    query says so when they would both answer).
    """
    kept: list[Fact] = []
    issues: list[FactIssue] = []
    first: dict[str, Fact] = {}
    for f in facts:
        if f.id in first:
            issues.append(FactIssue(f.file, f.line, "id", f"duplicate id '{f.id}' (first defined at "
                                    f"{first[f.id].where}); this one is ignored", kind="conflict"))
            continue
        first[f.id] = f
        kept.append(f)
    by_question: dict[str, list[Fact]] = {}
    for f in kept:
        for q in {normalise_key(q) for q in f.questions}:
            by_question.setdefault(q, []).append(f)
    pairs: set[frozenset[str]] = set()
    for group in by_question.values():
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                pair = frozenset((a.id, b.id))
                if pair in pairs or dict(a.answers) == dict(b.answers) or not a.overlaps(b):
                    continue
                pairs.add(pair)
                issues.append(FactIssue(b.file, b.line, "answer",
                                        f"facts '{a.id}' ({a.where}) and '{b.id}' answer the same question "
                                        "differently in overlapping validity periods", kind="conflict"))
    return kept, issues, pairs


@dataclass(frozen=True)
class FactSet:
    """One loaded version of every fact file: swapped in whole, so readers never see a mix."""

    facts: tuple[Fact, ...] = ()
    issues: tuple[FactIssue, ...] = ()
    conflicts: frozenset[frozenset[str]] = frozenset()
    version: int = 0  # bumps on every reload


class FactStore:
    def __init__(self, directory: Path, reload_check_s: float = 1.0, max_file_mb: float = 2.0,
                 load_file: Callable[[Path], FactFileLoad] | None = None):
        """``load_file`` reads one file (default: :func:`load_fact_file` with the size limit)."""
        self.directory = Path(directory)
        self.max_bytes = mb_to_bytes(max_file_mb)
        load = load_file or (lambda path: load_fact_file(path, self.directory, self.max_bytes))
        self._files = LiveFolder(self.directory, load, self._publish, reload_check_s, "facts")
        self._set = FactSet()
        self.reload()

    def snapshot(self) -> FactSet:
        """The live fact set; a change found by the (throttled) check is loaded beside it."""
        self._files.poll()
        return self._set

    def current(self) -> tuple[Fact, ...]:
        return self.snapshot().facts

    @property
    def facts(self) -> tuple[Fact, ...]:
        return self._set.facts

    @property
    def issues(self) -> tuple[FactIssue, ...]:
        return self._set.issues

    @property
    def conflicts(self) -> frozenset[frozenset[str]]:
        return self._set.conflicts

    @property
    def version(self) -> int:
        return self._set.version

    def reload(self) -> tuple[FactIssue, ...]:
        """Re-read all files now; returns the issues and conflicts found (also kept in ``issues``)."""
        return self._files.reload()

    def wait_reloaded(self, timeout: float | None = None) -> bool:
        """Wait for a background reload started by ``snapshot()``; False if still running."""
        return self._files.wait_reloaded(timeout)

    def _publish(self, live: dict[str, FactFileLoad], issues: list[FactIssue]) -> tuple[FactIssue, ...]:
        facts, conflict_issues, pairs = find_conflicts([f for fl in live.values() for f in fl.facts])
        issues = [*issues, *conflict_issues]
        for issue in issues:
            log.warning("facts: %s", issue)
        self._set = FactSet(tuple(facts), tuple(issues), frozenset(pairs), self._set.version + 1)
        return self._set.issues

    def validate_text(self, text: str, file_name: str) -> tuple[FactIssue, ...]:
        """Check an edit before it is saved (admin console); conflicts with other files included."""
        problem = too_large(len(text.encode("utf-8")), self.max_bytes, "facts.max_file_mb")
        if problem:
            return (FactIssue(file_name, None, None, problem),)
        parsed = parse_facts_text(text, file_name)
        others = [f for path, fl in self._files.live.items() if path != file_name for f in fl.facts]
        _, conflicts, _ = find_conflicts(others + list(parsed.facts))
        return parsed.issues + tuple(c for c in conflicts if c.file == file_name)

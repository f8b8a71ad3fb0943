"""The live fact set: loads every YAML file in the facts folder and reloads on change.

Like the glossary: one bad fact never takes the others down, a file that becomes invalid
keeps its last good version live, and edits are picked up without a restart. Duplicate ids
and two facts answering the same question differently (with overlapping validity) are
reported as conflicts.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kb_agent.facts.loader import load_fact_file, parse_facts_text
from kb_agent.facts.model import Fact, FactIssue
from kb_agent.glossary.model import normalize_key
from kb_agent.yamlsource import LiveFolder

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
        for q in {normalize_key(q) for q in f.questions}:
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


class FactStore:
    def __init__(self, directory: Path, reload_check_s: float = 1.0):
        self.directory = Path(directory)
        self._files = LiveFolder(self.directory, lambda path: load_fact_file(path, self.directory), reload_check_s)
        self.facts: tuple[Fact, ...] = ()
        self.issues: tuple[FactIssue, ...] = ()
        self.conflicts: set[frozenset[str]] = set()
        self.version = 0  # bumps on every reload that changed something
        self.reload()

    def current(self) -> tuple[Fact, ...]:
        """The live facts, reloaded first if files changed since the last check."""
        if self._files.changed():
            self.reload()
        return self.facts

    def reload(self) -> tuple[FactIssue, ...]:
        """Re-read all files; returns the issues and conflicts found (also kept in ``issues``)."""
        with self._files.lock:
            live, issues = self._files.load()
            facts, conflict_issues, pairs = find_conflicts([f for fl in live.values() for f in fl.facts])
            issues.extend(conflict_issues)
            for issue in issues:
                log.warning("facts: %s", issue)
            self.facts, self.issues, self.conflicts = tuple(facts), tuple(issues), pairs
            self.version += 1
            return self.issues

    def validate_text(self, text: str, file_name: str) -> tuple[FactIssue, ...]:
        """Check an edit before it is saved (admin console); conflicts with other files included."""
        parsed = parse_facts_text(text, file_name)
        others = [f for path, fl in self._files.live.items() if path != file_name for f in fl.facts]
        _, conflicts, _ = find_conflicts(others + list(parsed.facts))
        return parsed.issues + tuple(c for c in conflicts if c.file == file_name)

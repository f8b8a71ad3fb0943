"""Fact data types: a curated fact, a validation issue, a conflict, one file's load result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from kb_agent.i18n import language_of


@dataclass(frozen=True)
class FactSource:
    """Where a fact comes from: a document and locator, and/or a person who vouches for it."""

    document: str = ""
    locator: str = ""
    person: str = ""

    def label(self) -> str:
        parts = []
        if self.document:
            parts.append(self.document + (f" ({self.locator})" if self.locator else ""))
        if self.person:
            parts.append(self.person)
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"document": self.document, "locator": self.locator, "person": self.person,
                "label": self.label()}


@dataclass(frozen=True)
class Fact:
    """One curated fact. ``answers`` maps a language ('zh', 'en') or '' (any) to the answer."""

    id: str
    questions: tuple[str, ...]
    answers: tuple[tuple[str, str], ...]
    source: FactSource
    owner: str = ""
    department: str = ""
    valid_from: date | None = None
    valid_to: date | None = None
    tags: tuple[str, ...] = ()
    access_groups: tuple[str, ...] = ("everyone",)
    file: str = ""
    line: int = 0

    def answer_for(self, question: str) -> str:
        by_lang = dict(self.answers)
        lang = language_of(question, "zh")
        return by_lang.get(lang) or by_lang.get("") or next(iter(by_lang.values()))

    def status(self, today: date) -> str:
        """live | expired | future"""
        if self.valid_to is not None and today > self.valid_to:
            return "expired"
        if self.valid_from is not None and today < self.valid_from:
            return "future"
        return "live"

    def overlaps(self, other: "Fact") -> bool:
        """True if the two validity periods share at least one day."""
        lo = max(self.valid_from or date.min, other.valid_from or date.min)
        hi = min(self.valid_to or date.max, other.valid_to or date.max)
        return lo <= hi

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "questions": list(self.questions), "answers": dict(self.answers),
            "source": self.source.to_dict(), "owner": self.owner, "department": self.department,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "tags": list(self.tags), "access_groups": list(self.access_groups), "where": self.where,
        }


@dataclass(frozen=True)
class FactIssue:
    """A validation problem or conflict, precise enough for an admin to fix: file, line, field."""

    file: str
    line: int | None
    field: str | None
    message: str
    kind: str = "error"  # error | conflict
    kept_previous: bool = False

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        what = f" field '{self.field}':" if self.field else ""
        tag = " conflict:" if self.kind == "conflict" else ""
        kept = " (the last good version of this file stays live)" if self.kept_previous else ""
        return f"{where}:{tag}{what} {self.message}{kept}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message,
                "kind": self.kind, "kept_previous": self.kept_previous}


@dataclass(frozen=True)
class FactFileLoad:
    path: str
    facts: tuple[Fact, ...] = ()
    issues: tuple[FactIssue, ...] = ()
    fatal: bool = False

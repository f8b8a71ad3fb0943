"""Glossary data types: an entry and a validation issue."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from kb_agent.text import normalise_key


@dataclass(frozen=True)
class GlossaryEntry:
    """One meaning of one company term. Several entries may share a ``term`` (scoped)."""

    term: str
    english: str = ""
    chinese: str = ""
    aliases: tuple[str, ...] = ()
    description: str = ""
    scope: str = ""
    owner: str = ""
    updated: date | None = None
    source_file: str = ""
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "english": self.english,
            "chinese": self.chinese,
            "aliases": list(self.aliases),
            "description": self.description,
            "scope": self.scope,
            "owner": self.owner,
            "updated": self.updated.isoformat() if self.updated else None,
            "source": f"{self.source_file}:{self.line}" if self.source_file else "",
        }

    def chinese_names(self) -> list[str]:
        """The Chinese meaning split into alternative names: '展会 (全印展)' -> ['展会', '全印展']."""
        parts = re.split(r"[（）()、/;；,，]+", self.chinese)
        return [p.strip() for p in parts if len(p.strip()) >= 2]

    def names(self) -> list[str]:
        """Every way the documents may write this meaning: the term, its aliases, the English
        name and the Chinese names."""
        return list(dict.fromkeys(n for n in (self.term, *self.aliases, self.english, *self.chinese_names()) if n))

    def one_line(self) -> str:
        names = " / ".join(x for x in (self.english, self.chinese) if x)
        scope = f" [{self.scope}]" if self.scope else ""
        return f"{self.term} = {names}{scope}"


@dataclass(frozen=True)
class GlossaryIssue:
    """A validation problem, precise enough for an admin to fix: file, line, field."""

    file: str
    line: int | None
    field: str | None
    message: str
    kept_previous: bool = False

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        what = f" field '{self.field}':" if self.field else ""
        kept = " (the last good version of this file stays live)" if self.kept_previous else ""
        return f"{where}:{what} {self.message}{kept}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message,
                "kept_previous": self.kept_previous}


@dataclass(frozen=True)
class FileLoad:
    """The outcome of parsing one glossary file."""

    path: str
    entries: tuple[GlossaryEntry, ...] = ()
    issues: tuple[GlossaryIssue, ...] = ()
    fatal: bool = False  # the file as a whole could not be read (syntax, shape)


def entry_identity(term: str, english: str | None, chinese: str | None, scope: str | None) -> tuple[str, ...]:
    """What makes two glossary entries the same entry: term, meaning and scope as lookups compare them."""
    return tuple(normalise_key(x or "") for x in (term, english, chinese, scope))

"""Reads glossary YAML files with validation that names file, line and field.

File shape (a list under ``entries``, or a bare list)::

    entries:
      - term: AM
        english: Account Manager
        chinese: 客户经理
        scope: 销售部
        aliases: [A.M.]
        owner: Sales Ops
        updated: 2025-08-01

A broken file never stops the others: its valid entries load and every problem becomes a
:class:`GlossaryIssue`. Keeping the last good version live is the store's job (store.py).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Iterable

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kb_agent.glossary.model import FileLoad, GlossaryEntry, GlossaryIssue, entry_identity
from kb_agent.yamlsource import mb_to_bytes, read_items, read_limited


class EntrySchema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    term: str = Field(min_length=1, max_length=64)
    english: str = ""
    chinese: str = ""
    aliases: list[str] = Field(default_factory=list)
    description: str = ""
    scope: str = ""
    owner: str = ""
    updated: date | None = None

    @field_validator("english", "chinese", "description", "scope", "owner", mode="before")
    @classmethod
    def _text(cls, value):
        if value is None:
            return ""
        if isinstance(value, (int, float)):
            return str(value)
        return value

    @field_validator("aliases", mode="before")
    @classmethod
    def _aliases(cls, value):
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        return value

    @field_validator("term", mode="before")
    @classmethod
    def _term(cls, value):
        return str(value) if isinstance(value, (int, float)) else value

    @model_validator(mode="after")
    def _has_meaning(self):
        if not self.english and not self.chinese:
            raise ValueError("an entry needs `english` or `chinese` (its meaning)")
        return self


def parse_glossary_text(text: str, source: str) -> FileLoad:
    """Parse one file's text. Pure: no file system access."""
    items, problem = read_items(text, "entries")
    if problem is not None:
        return FileLoad(source, issues=(GlossaryIssue(source, problem.line, problem.field, problem.message),),
                        fatal=True)
    entries: list[GlossaryEntry] = []
    issues: list[GlossaryIssue] = []
    for item in items:
        if item.data is None:
            issues.append(GlossaryIssue(source, item.error_line or item.line, item.error_field, item.error or
                                        "an entry must be a mapping with `term`, `english`, `chinese`"))
            continue
        try:
            parsed = EntrySchema.model_validate(item.data)
        except ValidationError as exc:
            for err in exc.errors():
                field_name = str(err["loc"][0]) if err["loc"] else None
                msg = err["msg"].removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    msg = "unknown field"
                issues.append(GlossaryIssue(source, item.key_lines.get(field_name, item.line), field_name, msg))
            continue
        entries.append(GlossaryEntry(
            term=parsed.term, english=parsed.english, chinese=parsed.chinese,
            aliases=tuple(a.strip() for a in parsed.aliases if a and a.strip()),
            description=parsed.description, scope=parsed.scope, owner=parsed.owner,
            updated=parsed.updated, source_file=source, line=item.line or 0,
        ))
    return FileLoad(source, entries=tuple(entries), issues=tuple(issues))


def find_duplicates(entries: Iterable[GlossaryEntry]) -> tuple[list[GlossaryEntry], list[GlossaryIssue]]:
    """Pure: drop exact duplicates (same term, meaning and scope, compared as lookups compare
    them) and report each with the place of the first. Same term, other meaning: not a duplicate."""
    first: dict[tuple[str, ...], GlossaryEntry] = {}
    kept: list[GlossaryEntry] = []
    issues: list[GlossaryIssue] = []
    for e in entries:
        ident = entry_identity(e.term, e.english, e.chinese, e.scope)
        if ident in first:
            f = first[ident]
            issues.append(GlossaryIssue(e.source_file, e.line or None, "term",
                                        f"duplicate of the entry at {f.source_file}:{f.line} (same term, meaning "
                                        "and scope); this one is ignored"))
            continue
        first[ident] = e
        kept.append(e)
    return kept, issues


#: Default of ``glossary.max_file_mb``: far above any hand-kept glossary (the sample is 5 KB).
DEFAULT_MAX_BYTES = mb_to_bytes(2.0)


def load_glossary_file(path: Path, display_root: Path | None = None,
                       max_bytes: int = DEFAULT_MAX_BYTES) -> FileLoad:
    source = path.relative_to(display_root).as_posix() if display_root else path.name
    text, problem = read_limited(path, max_bytes, "glossary.max_file_mb")
    if text is None:
        return FileLoad(source, issues=(GlossaryIssue(source, None, None, problem or ""),), fatal=True)
    return parse_glossary_text(text, source)

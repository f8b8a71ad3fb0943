"""Reads fact YAML files with validation that names file, line and field.

File shape (see docs/facts.md)::

    facts:
      - id: ess-training-frequency
        questions: [ESS培训每月几次？, How often is ESS training held?]
        answer:
          zh: ESS（员工自助服务）培训每月两次……
          en: ESS (Employee Self-Service) training is held twice a month …
        source: {document: hr/ess-training.docx, locator: "p. 2"}   # or {person: "Li Na (HR)"}
        owner: HR
        department: 人力资源部
        valid_from: 2025-01-01
        valid_to: 2026-12-31
        tags: [hr, training]
        access_groups: [everyone]

A broken fact never stops the others; every problem becomes a :class:`FactIssue`.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kb_agent.facts.model import Fact, FactFileLoad, FactIssue, FactSource
from kb_agent.yamlsource import mb_to_bytes, read_items, read_limited

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")


def _str_list(value):
    if value is None:
        return []
    if isinstance(value, (str, int, float)):
        return [str(value)]
    return value


class SourceSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    document: str = ""
    locator: str = ""
    person: str = ""

    @field_validator("document", "locator", "person", mode="before")
    @classmethod
    def _text(cls, value):
        return "" if value is None else str(value) if isinstance(value, (int, float)) else value

    @model_validator(mode="after")
    def _something(self):
        if not self.document and not self.person:
            raise ValueError("a source needs `document` (with an optional `locator`) or `person`")
        return self


class FactSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str
    questions: list[str] = Field(min_length=1)
    answer: str | dict[str, str]
    source: SourceSchema
    owner: str = ""
    department: str = ""
    valid_from: date | None = None
    valid_to: date | None = None
    tags: list[str] = Field(default_factory=list)
    access_groups: list[str] = Field(default_factory=lambda: ["everyone"])

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value):
        value = str(value) if isinstance(value, (int, float)) else value
        if isinstance(value, str) and not _ID.match(value.strip()):
            raise ValueError("an id is 1-80 letters, digits, '-', '_' or '.' (no spaces)")
        return value

    @field_validator("questions", "tags", mode="before")
    @classmethod
    def _lists(cls, value):
        return _str_list(value)

    @field_validator("access_groups", mode="before")
    @classmethod
    def _groups_given(cls, value):
        # Given but null (`access_groups:`) is not "left out": it fails closed, as _access.yaml does.
        return [] if value is None else [value] if isinstance(value, str) else value

    @field_validator("access_groups")
    @classmethod
    def _groups(cls, value):
        if not value or not all(g.strip() for g in value):
            raise ValueError("`access_groups` must be a non-empty list of group names "
                             "(leave the field out for everyone)")
        return [g.strip() for g in value]

    @field_validator("questions")
    @classmethod
    def _questions(cls, value):
        cleaned = [q.strip() for q in value if q and q.strip()]
        if not cleaned:
            raise ValueError("at least one non-empty question phrasing is required")
        return cleaned

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, value):
        return {"document": value} if isinstance(value, str) else value

    @field_validator("owner", "department", mode="before")
    @classmethod
    def _text(cls, value):
        return "" if value is None else str(value) if isinstance(value, (int, float)) else value

    @field_validator("answer", mode="before")
    @classmethod
    def _answer(cls, value):
        if isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, dict):
            bad = [k for k in value if k not in ("zh", "en")]
            if bad:
                raise ValueError(f"answer languages must be `zh` and/or `en`, not {bad}")
            return {k: str(v).strip() for k, v in value.items() if v is not None and str(v).strip()}
        return value

    @model_validator(mode="after")
    def _checks(self):
        if not self.answer or (isinstance(self.answer, str) and not self.answer.strip()):
            raise ValueError("`answer` must not be empty")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to ({self.valid_to}) is before valid_from ({self.valid_from})")
        return self


def parse_facts_text(text: str, source: str) -> FactFileLoad:
    """Parse one file's text. Pure: no file system access."""
    items, problem = read_items(text, "facts")
    if problem is not None:
        return FactFileLoad(source, issues=(FactIssue(source, problem.line, problem.field, problem.message),),
                            fatal=True)
    facts: list[Fact] = []
    issues: list[FactIssue] = []
    for item in items:
        line, key_lines, raw = item.line, item.key_lines, item.data
        if raw is None:
            issues.append(FactIssue(source, item.error_line or line, item.error_field,
                                    item.error or "a fact must be a mapping with `id`, `questions`, `answer` "
                                                  "and `source`"))
            continue
        try:
            parsed = FactSchema.model_validate(raw)
        except ValidationError as exc:
            fact_id = raw.get("id") if isinstance(raw, dict) else None
            for err in exc.errors():
                field_name = ".".join(str(p) for p in err["loc"]) or None
                top = str(err["loc"][0]) if err["loc"] else None
                msg = err["msg"].removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    msg = "unknown field"
                elif err["type"] == "missing":
                    msg = "required field is missing"
                if not top:  # a whole-fact check: point at the field it names
                    top = next((k for k in key_lines if msg.startswith(k) or f"`{k}`" in msg), None)
                    field_name = top
                if fact_id:
                    msg += f" (fact '{fact_id}')"
                issues.append(FactIssue(source, key_lines.get(top, line), field_name, msg))
            continue
        answers = ((("", parsed.answer),) if isinstance(parsed.answer, str)
                   else tuple(sorted(parsed.answer.items())))
        facts.append(Fact(
            id=parsed.id.strip(), questions=tuple(parsed.questions), answers=answers,
            source=FactSource(parsed.source.document, parsed.source.locator, parsed.source.person),
            owner=parsed.owner, department=parsed.department,
            valid_from=parsed.valid_from, valid_to=parsed.valid_to,
            tags=tuple(t.strip() for t in parsed.tags if t and t.strip()),
            access_groups=tuple(parsed.access_groups),
            file=source, line=line or 0,
        ))
    return FactFileLoad(source, facts=tuple(facts), issues=tuple(issues))


#: Default of ``facts.max_file_mb``.
DEFAULT_MAX_BYTES = mb_to_bytes(2.0)


def load_fact_file(path: Path, display_root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> FactFileLoad:
    source = path.relative_to(display_root).as_posix() if display_root else path.name
    text, problem = read_limited(path, max_bytes, "facts.max_file_mb")
    if text is None:
        return FactFileLoad(source, issues=(FactIssue(source, None, None, problem or ""),), fatal=True)
    return parse_facts_text(text, source)

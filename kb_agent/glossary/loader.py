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

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kb_agent.glossary.model import FileLoad, GlossaryEntry, GlossaryIssue


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


def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def parse_glossary_text(text: str, source: str) -> FileLoad:
    """Parse one file's text. Pure: no file system access."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and context_mark is not None:
            problem += f" ({context} started on line {context_mark.line + 1})"
        return FileLoad(source, issues=(GlossaryIssue(source, mark.line + 1 if mark else None, None,
                                                      f"not valid YAML: {problem}"),), fatal=True)
    if root is None:
        return FileLoad(source)
    items_node = root
    if isinstance(root, yaml.MappingNode):
        items_node = None
        for key, value in root.value:
            if key.value == "entries":
                items_node = value
            else:
                return FileLoad(source, issues=(GlossaryIssue(
                    source, _line(key), key.value, "unknown top-level key (expected `entries`)"),), fatal=True)
    if not isinstance(items_node, yaml.SequenceNode):
        return FileLoad(source, issues=(GlossaryIssue(
            source, _line(items_node or root), "entries", "expected a list of entries"),), fatal=True)

    entries: list[GlossaryEntry] = []
    issues: list[GlossaryIssue] = []
    for node in items_node.value:
        line = _line(node)
        if not isinstance(node, yaml.MappingNode):
            issues.append(GlossaryIssue(source, line, None, "an entry must be a mapping with `term`, `english`, `chinese`"))
            continue
        key_lines = {k.value: _line(v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
        raw = _construct(node)
        try:
            parsed = EntrySchema.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                field_name = str(err["loc"][0]) if err["loc"] else None
                msg = err["msg"].removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    msg = "unknown field"
                issues.append(GlossaryIssue(source, key_lines.get(field_name, line), field_name, msg))
            continue
        entries.append(GlossaryEntry(
            term=parsed.term, english=parsed.english, chinese=parsed.chinese,
            aliases=tuple(a.strip() for a in parsed.aliases if a and a.strip()),
            description=parsed.description, scope=parsed.scope, owner=parsed.owner,
            updated=parsed.updated, source_file=source, line=line or 0,
        ))
    return FileLoad(source, entries=tuple(entries), issues=tuple(issues))


def _construct(node: yaml.Node):
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def glossary_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in (".yaml", ".yml") and p.is_file())


def load_glossary_file(path: Path, display_root: Path | None = None) -> FileLoad:
    source = str(path.relative_to(display_root)) if display_root else path.name
    try:
        stat = path.stat()
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return FileLoad(source, issues=(GlossaryIssue(source, None, None, f"cannot read file: {exc}"),), fatal=True)
    result = parse_glossary_text(text, source)
    return FileLoad(result.path, result.entries, result.issues, result.fatal, (stat.st_mtime, stat.st_size))

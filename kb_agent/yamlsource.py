"""Reading admin-edited YAML lists with line numbers, for validation messages that name the
file, line and field. Shared by the glossary (``entries:``) and the facts (``facts:``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class YamlProblem:
    """The file as a whole cannot be used: bad syntax or the wrong shape."""

    line: int | None
    field: str | None
    message: str


@dataclass(frozen=True)
class YamlItem:
    """One list item: its line, the line of each of its keys' values, and its data.

    ``data`` is None when the item is not a mapping or could not be constructed (``error``).
    """

    line: int | None
    key_lines: dict[str, int | None] = field(default_factory=dict)
    data: dict[str, Any] | None = None
    error: str | None = None


def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def _construct(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def syntax_problem(exc: yaml.YAMLError) -> YamlProblem:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None:
        problem += f" ({context} started on line {context_mark.line + 1})"
    return YamlProblem(mark.line + 1 if mark else None, None, f"not valid YAML: {problem}")


def read_items(text: str, list_key: str) -> tuple[list[YamlItem], YamlProblem | None]:
    """The items of ``list_key: [...]`` (or of a bare top-level list). Pure."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        return [], syntax_problem(exc)
    if root is None:
        return [], None
    items_node = root
    if isinstance(root, yaml.MappingNode):
        items_node = None
        for key, value in root.value:
            if key.value != list_key:
                return [], YamlProblem(_line(key), key.value, f"unknown top-level key (expected `{list_key}`)")
            items_node = value
    if not isinstance(items_node, yaml.SequenceNode):
        return [], YamlProblem(_line(items_node or root), list_key, f"expected a list under `{list_key}`")
    items = []
    for node in items_node.value:
        if not isinstance(node, yaml.MappingNode):
            items.append(YamlItem(_line(node)))
            continue
        key_lines = {k.value: _line(v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
        try:
            items.append(YamlItem(_line(node), key_lines, _construct(node)))
        except yaml.YAMLError as exc:
            items.append(YamlItem(_line(node), key_lines, error=f"cannot read this item: {exc}"))
    return items, None


def yaml_files(directory: Path) -> list[Path]:
    """The ``*.yaml`` / ``*.yml`` files of a folder, sorted (none if it does not exist)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in (".yaml", ".yml") and p.is_file())

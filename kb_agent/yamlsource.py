"""Admin-edited YAML: lists read with line numbers (for validation messages that name the file,
line and field) and folders watched for edits with each file's last good version kept live.
Shared by the glossary (``entries:``) and the facts (``facts:``)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

import yaml

Load = TypeVar("Load")


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


class LiveFolder(Generic[Load]):
    """The YAML files of an admin-edited folder, re-read when they change.

    ``load_file(path)`` parses one file into a load with ``path``, ``issues`` and ``fatal``.
    A file whose edit breaks it keeps its last good load live (its issues are reported with
    ``kept_previous=True``); on first load a partly broken file serves what is valid. Change
    detection stats the files (mtime, size) at most every ``check_s`` seconds.
    """

    def __init__(self, directory: Path, load_file: Callable[[Path], Load], check_s: float = 1.0):
        self.directory = Path(directory)
        self.load_file = load_file
        self.check_s = check_s
        self.lock = threading.Lock()
        self._live: dict[str, Load] = {}
        self._signatures: dict[Path, tuple[int, int]] = {}
        self._last_check = 0.0

    def changed(self) -> bool:
        """Whether files changed since the last load (checked at most every ``check_s``)."""
        now = time.monotonic()
        if now - self._last_check < self.check_s:
            return False
        self._last_check = now
        return self._scan() != self._signatures

    def _scan(self) -> dict[Path, tuple[int, int]]:
        out = {}
        for path in yaml_files(self.directory):
            try:
                st = path.stat()
            except OSError:
                continue
            out[path] = (st.st_mtime_ns, st.st_size)
        return out

    def load(self) -> tuple[dict[str, Load], list[Any]]:
        """Re-read every file: the loads to serve (per file) and every issue found.
        Callers hold ``lock`` so the loads and the snapshot built from them change together."""
        signatures = self._scan()
        live: dict[str, Load] = {}
        issues: list[Any] = []
        for path in signatures:
            loaded = self.load_file(path)
            previous = self._live.get(loaded.path)
            if loaded.issues and previous is not None and (loaded.fatal or not previous.issues):
                issues.extend(replace(i, kept_previous=True) for i in loaded.issues)
                live[loaded.path] = previous
            else:
                issues.extend(loaded.issues)
                live[loaded.path] = loaded
        self._live, self._signatures = live, signatures
        return live, issues

    @property
    def live(self) -> dict[str, Load]:
        return self._live

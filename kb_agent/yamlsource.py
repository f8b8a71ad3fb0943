"""Admin-edited YAML: lists read with line numbers (for validation messages that name the file,
line and field), repeated keys refused (``safe_load``, ``UniqueKeyLoader``), files read only
within a size limit, and folders watched for edits with each file's last good version kept
live and changes loaded in the background. Shared by the glossary (``entries:``) and the
facts (``facts:``); ``safe_load`` suits any admin YAML (``_access.yaml``)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

import yaml

log = logging.getLogger(__name__)

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

    ``data`` is None when the item is not a mapping or could not be constructed (``error``,
    with its own line and field where known: a repeated key).
    """

    line: int | None
    key_lines: dict[str, int | None] = field(default_factory=dict)
    data: dict[str, Any] | None = None
    error: str | None = None
    error_line: int | None = None
    error_field: str | None = None


def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


_MERGE = "tag:yaml.org,2002:merge"
# libyaml when PyYAML has it: composing is most of a file's load time, and about 6x faster in C.
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def duplicate_key(node: yaml.MappingNode) -> tuple[yaml.Node, yaml.Node] | None:
    """The first key given twice in one mapping (first node, repeated node), or None.
    Keys brought in by a merge (``<<: *base``) may be overridden; they are not duplicates."""
    seen: dict[tuple[str, str], yaml.Node] = {}
    for key, _ in node.value:
        if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE:
            ident = (key.tag, key.value)
            if ident in seen:
                return seen[ident], key
            seen[ident] = key
    return None


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping gives one key twice (PyYAML's safe_load would silently keep the last)."""

    def __init__(self, first: yaml.Node, repeated: yaml.Node):
        super().__init__(None, None, f"duplicate key `{repeated.value}` (first on line {_line(first)}); "
                                     "only one may be given", repeated.start_mark)
        self.key = str(repeated.value)


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key repeated in one mapping."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            found = duplicate_key(node)
            if found:
                raise DuplicateKeyError(*found)
        return super().construct_mapping(node, deep=deep)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` that raises :class:`DuplicateKeyError` (a ``yaml.YAMLError`` with
    ``problem_mark``) for a repeated key: the one loader for admin YAML (glossary, facts,
    ``_access.yaml``)."""
    return yaml.load(text, Loader=UniqueKeyLoader)


def _construct(node: yaml.Node) -> Any:
    loader = UniqueKeyLoader("")
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
        root = yaml.compose(text, Loader=_COMPOSER)
    except yaml.YAMLError as exc:
        return [], syntax_problem(exc)
    if root is None:
        return [], None
    items_node = root
    if isinstance(root, yaml.MappingNode):
        found = duplicate_key(root)
        if found:
            return [], YamlProblem(_line(found[1]), found[1].value, DuplicateKeyError(*found).problem)
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
        except DuplicateKeyError as exc:
            items.append(YamlItem(_line(node), key_lines, error=exc.problem, error_line=exc.problem_mark.line + 1,
                                  error_field=_field_at(node, exc.problem_mark.index, exc.key)))
        except yaml.YAMLError as exc:
            items.append(YamlItem(_line(node), key_lines, error=f"cannot read this item: {exc}"))
    return items, None


def _field_at(item: yaml.MappingNode, index: int, key: str) -> str:
    """``key`` itself when repeated in the item, ``outer.key`` when inside the item's ``outer``."""
    for k, v in item.value:
        if isinstance(k, yaml.ScalarNode) and v.start_mark.index <= index < v.end_mark.index:
            return f"{k.value}.{key}"
    return key


def yaml_files(directory: Path) -> list[Path]:
    """The ``*.yaml`` / ``*.yml`` files of a folder, sorted (none if it does not exist)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in (".yaml", ".yml") and p.is_file())


def mb_to_bytes(mb: float) -> int:
    return round(mb * 1024 * 1024)


def too_large(size: int, max_bytes: int, setting: str) -> str | None:
    """The message for an admin file (or edit) over its size limit, None when within it."""
    if size <= max_bytes:
        return None
    return (f"file is {size:,} bytes, over the limit of {max_bytes / (1024 * 1024):.3g} MB "
            f"(setting {setting}); not loaded")


def read_limited(path: Path, max_bytes: int, setting: str) -> tuple[str | None, str | None]:
    """``(text, None)``, or ``(None, problem)`` when the file cannot be read or is too large.
    The size is checked by stat before anything is read: a huge file costs no memory."""
    try:
        problem = too_large(path.stat().st_size, max_bytes, setting)
        if problem:
            return None, problem
        return path.read_text(encoding="utf-8"), None
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot read file: {exc}"


class LiveFolder(Generic[Load]):
    """The YAML files of an admin-edited folder, re-read when they change.

    ``load_file(path)`` parses one file into a load with ``path``, ``issues`` and ``fatal``;
    ``publish(live, issues)`` makes a loaded version current (the store builds and swaps in
    the snapshot readers use) and returns the issues to report.

    A file whose edit breaks it keeps its last good load live (its issues are reported with
    ``kept_previous=True``); on first load a partly broken file serves what is valid.

    ``poll()`` is for the request path: it stats the files (mtime, size) at most every
    ``check_s`` seconds and, when they changed, starts a reload in a background thread and
    returns at once. Readers keep the current version until ``publish`` swaps in the next;
    no lock that a reader takes is held while files are parsed. ``reload()`` reloads in the
    calling thread (start-up, `validate`, a save from the console).
    """

    def __init__(self, directory: Path, load_file: Callable[[Path], Load],
                 publish: Callable[[dict[str, Load], list[Any]], Any], check_s: float = 1.0,
                 name: str = "yaml"):
        self.directory = Path(directory)
        self.load_file = load_file
        self.publish = publish
        self.check_s = check_s
        self.name = name
        self._reload_lock = threading.Lock()   # one reload at a time; readers never take it
        self._start_lock = threading.Lock()    # held only to decide whether to start a thread
        self._thread: threading.Thread | None = None
        self._live: dict[str, Load] = {}
        self._outcomes: dict[Path, tuple[Load, list[Any]]] = {}   # per file: the load served, its issues
        self._signatures: dict[Path, tuple[int, int]] = {}
        self._last_check = 0.0

    def changed(self) -> bool:
        """Whether files changed since the last load (checked at most every ``check_s``)."""
        now = time.monotonic()
        if now - self._last_check < self.check_s:
            return False
        self._last_check = now
        return self._scan() != self._signatures

    def poll(self) -> None:
        """Start a background reload if files changed and none is running; never waits."""
        if not self.changed():
            return
        with self._start_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._reload_beside, name=f"kb-{self.name}-reload",
                                            daemon=True)
            self._thread.start()

    def wait_reloaded(self, timeout: float | None = None) -> bool:
        """Wait for a background reload to finish; False if it is still running after ``timeout``."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _reload_beside(self) -> None:
        try:
            self.reload(changed_only=True)
        except Exception:  # a bug in a loader must not kill the server; the next check retries
            log.exception("%s: background reload failed; the current version stays live", self.name)

    def _scan(self) -> dict[Path, tuple[int, int]]:
        out = {}
        for path in yaml_files(self.directory):
            try:
                st = path.stat()
            except OSError:
                continue
            out[path] = (st.st_mtime_ns, st.st_size)
        return out

    def reload(self, changed_only: bool = False) -> Any:
        """Re-read the files and publish the result (what ``publish`` returns). With
        ``changed_only`` (the background reload) a file whose (mtime, size) is unchanged keeps its
        load and issues; otherwise every file is read again."""
        with self._reload_lock:
            signatures = self._scan()
            live: dict[str, Load] = {}
            issues: list[Any] = []
            outcomes: dict[Path, tuple[Load, list[Any]]] = {}
            for path, signature in signatures.items():
                if changed_only and path in self._outcomes and self._signatures.get(path) == signature:
                    served, found = self._outcomes[path]
                else:
                    loaded = self.load_file(path)
                    previous = self._live.get(loaded.path)
                    if loaded.issues and previous is not None and (loaded.fatal or not previous.issues):
                        served, found = previous, [replace(i, kept_previous=True) for i in loaded.issues]
                    else:
                        served, found = loaded, list(loaded.issues)
                outcomes[path] = (served, found)
                live[served.path] = served
                issues.extend(found)
            result = self.publish(live, issues)
            self._live, self._signatures, self._outcomes = live, signatures, outcomes
            return result

    @property
    def live(self) -> dict[str, Load]:
        return self._live

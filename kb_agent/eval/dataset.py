"""Evaluation items: one JSON object a line.

``{"id", "question", "kind": "term"|"fact"|"doc", "expected_answer"}`` for term and fact items;
``{"id", "question", "kind": "doc", "expected_source", "expected_locator"?}`` for documents,
where ``expected_source`` is relative to the ingested folder (or a list of acceptable sources,
when the knowledge base states the answer in several files) and ``expected_locator`` may
name ``page``, ``slide``, ``sheet`` (and ``cell_range``), or ``heading`` (a prefix of the
heading path). A doc item with ``"expected_source": null`` is unanswerable: the right
outcome is 'no relevant passage'. Optional: ``lang`` and ``expected_route``
(term | fact | doc | none; default: the kind, or none for unanswerable items).

Bad lines are reported with file, line and field, and the rest are evaluated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from kb_agent.i18n import language_of

KINDS = ("term", "fact", "doc")
ROUTES = ("term", "fact", "doc", "none")
LOCATOR_KEYS = ("page", "slide", "sheet", "cell_range", "heading")


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    kind: str
    expected_answer: str | None = None
    expected_source: str | tuple[str, ...] | None = None
    expected_locator: dict[str, Any] = field(default_factory=dict)
    expected_route: str = "none"
    lang: str = "en"
    origin: str = ""          # file:line

    @property
    def answerable(self) -> bool:
        return self.kind != "doc" or self.expected_source is not None


@dataclass(frozen=True)
class ItemIssue:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


def parse_item(data: Any, origin: str) -> EvalItem:
    """Validate one decoded line; raises ``ValueError((field, message))``."""
    if not isinstance(data, dict):
        raise ValueError(("(line)", "expected a JSON object"))
    for name in ("id", "question", "kind"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            raise ValueError((name, "required, a non-empty string"))
    kind = data["kind"]
    if kind not in KINDS:
        raise ValueError(("kind", f"must be one of {', '.join(KINDS)}, not {kind!r}"))
    answer, source, locator = data.get("expected_answer"), data.get("expected_source"), data.get("expected_locator") or {}
    if kind in ("term", "fact") and (not isinstance(answer, str) or not answer.strip()):
        raise ValueError(("expected_answer", f"required for {kind} items"))
    if kind == "doc":
        if "expected_source" not in data:
            raise ValueError(("expected_source", "required for doc items (null for an unanswerable question)"))
        if isinstance(source, list) and source and all(isinstance(x, str) and x.strip() for x in source):
            source = tuple(x.strip().strip("/") for x in source)
        elif source is not None and (not isinstance(source, str) or not source.strip()):
            raise ValueError(("expected_source", "a path relative to the ingested folder, a list of "
                                                 "acceptable paths, or null"))
        if not isinstance(locator, dict) or set(locator) - set(LOCATOR_KEYS):
            raise ValueError(("expected_locator", f"an object with keys among {', '.join(LOCATOR_KEYS)}"))
    route = data.get("expected_route") or (kind if (kind != "doc" or source is not None) else "none")
    if route not in ROUTES:
        raise ValueError(("expected_route", f"must be one of {', '.join(ROUTES)}"))
    return EvalItem(id=data["id"], question=data["question"].strip(), kind=kind,
                    expected_answer=answer, expected_source=(source.strip().strip("/") if isinstance(source, str) else source) or None,
                    expected_locator=dict(locator), expected_route=route,
                    lang=data.get("lang") or language_of(data["question"]), origin=origin)


def load_items(paths: Iterable[Path]) -> tuple[list[EvalItem], list[ItemIssue]]:
    items: list[EvalItem] = []
    issues: list[ItemIssue] = []
    seen: dict[str, str] = {}
    for path in paths:
        path = Path(path)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            issues.append(ItemIssue(str(path), 0, "(file)", f"cannot be read: {exc}"))
            continue
        for n, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("//"):
                continue
            try:
                data = json.loads(line)
            except ValueError as exc:
                issues.append(ItemIssue(str(path), n, "(line)", f"not valid JSON: {exc}"))
                continue
            try:
                item = parse_item(data, f"{path}:{n}")
            except ValueError as exc:
                fld, msg = exc.args[0]
                issues.append(ItemIssue(str(path), n, fld, msg))
                continue
            if item.id in seen:
                issues.append(ItemIssue(str(path), n, "id", f"duplicate id {item.id!r} (first at {seen[item.id]})"))
                continue
            seen[item.id] = item.origin
            items.append(item)
    return items, issues

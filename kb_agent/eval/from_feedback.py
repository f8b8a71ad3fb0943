"""A feedback item turned into an evaluation case: a wrong answer reported today is a
regression test tomorrow.

:func:`draft` prefills what an admin confirms in the console (the question, the kind from the
tool that answered, the expected source and locator from the evidence shown); :func:`case`
builds the ``kb-agent eval`` line from the confirmed draft and validates it with the dataset's
own :func:`~kb_agent.eval.dataset.parse_item`, so a case the harness would refuse is never
written; :func:`append_case` adds it to ``<eval dir>/feedback.jsonl`` unless its id is there
already. Pure functions but for the one file write; the console tab is an adapter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from kb_agent.errors import InputError
from kb_agent.eval.dataset import EvalItem, load_items, parse_item

FILE_NAME = "feedback.jsonl"
#: The kind of case each tool's answer makes.
TOOL_KINDS = {"glossary_lookup": "term", "fact_query": "fact", "doc_retrieve": "doc"}
#: The console's kinds: the dataset's three, and "none" for a question the knowledge base has
#: no answer to (a doc case whose expected source is null: the right outcome is "not found").
KINDS = ("term", "fact", "doc", "none")
#: The names of the draft's fields as the console labels them (in error messages).
FIELD_LABELS = {"id": "id", "question": "question", "kind": "kind", "expected_answer": "expected answer",
                "expected_source": "expected source", "expected_locator": "expected locator",
                "expected_route": "kind"}


@dataclass(frozen=True)
class CaseDraft:
    """What the admin confirms; the text fields are as typed in the form."""

    id: str
    question: str
    kind: str                    # one of KINDS
    expected_answer: str = ""    # term and fact cases: what the answer must equal or contain
    expected_source: str = ""    # doc cases: the file, relative to the ingested folder
    expected_locator: str = ""   # doc cases, optional: a JSON object, e.g. {"heading": "A > B"} or {"page": 3}
    feedback_id: int | None = None


def case_id(feedback_id: int) -> str:
    return f"feedback-{feedback_id}"


def kind_of(tools: list[str]) -> str:
    """The kind of the first tool that has one; "doc" when none ran (the admin names the source)."""
    return next((TOOL_KINDS[t] for t in tools if t in TOOL_KINDS), "doc")


def expected_locator(locator: Mapping[str, Any]) -> dict[str, Any]:
    """A citation's locator as an eval ``expected_locator``: heading path, page, slide or sheet
    (+ cell range); {} for locators the harness does not compare (glossary lines, time spans)."""
    if locator.get("heading_path"):
        return {"heading": " > ".join(str(h) for h in locator["heading_path"])}
    for key in ("page", "slide"):
        if locator.get(key) is not None:
            return {key: locator[key]}
    if locator.get("sheet"):
        out = {"sheet": locator["sheet"]}
        if locator.get("cell_range"):
            out["cell_range"] = locator["cell_range"]
        return out
    return {}


def draft(item: Any) -> CaseDraft:
    """The form prefilled from a :class:`~kb_agent.feedback.FeedbackItem`: the first document
    cited is the expected source (the admin confirms or corrects it); the expected answer is
    left for the admin to type, since a down-voted answer is not the one to expect."""
    kind = kind_of(list(item.tools))
    document = next((e for e in item.evidence if e.get("kind", "document") == "document" and e.get("source")), None)
    source, locator = "", ""
    if document is not None:
        source = str(document["source"])
        wanted = expected_locator(document.get("locator") or {})
        locator = json.dumps(wanted, ensure_ascii=False) if wanted else ""
    return CaseDraft(id=case_id(item.id), question=item.question, kind=kind, expected_source=source,
                     expected_locator=locator, feedback_id=item.id)


def _locator(text: str) -> dict[str, Any]:
    text = (text or "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise InputError('expected locator: not valid JSON; write an object such as {"heading": "Intro > Scope"} '
                         'or {"page": 3}, or leave it empty.') from None
    if not isinstance(value, dict):
        raise InputError('expected locator: must be a JSON object such as {"page": 3}.')
    return value


def case(d: CaseDraft) -> dict[str, Any]:
    """The eval line (a dict) for a confirmed draft; InputError naming the field when the
    harness would refuse it."""
    if d.kind not in KINDS:
        raise InputError(f"kind: must be one of {', '.join(KINDS)}, not {d.kind!r}.")
    out: dict[str, Any] = {"id": d.id.strip(), "question": (d.question or "").strip(),
                           "kind": "doc" if d.kind == "none" else d.kind}
    if d.kind in ("term", "fact"):
        out["expected_answer"] = (d.expected_answer or "").strip()
    elif d.kind == "none":
        out["expected_source"] = None
    else:
        source = (d.expected_source or "").strip()
        if not source:
            raise InputError("expected source: required for a doc case (the file that answers, relative to the "
                             "ingested folder); choose kind 'none' when the knowledge base has no answer.")
        out["expected_source"] = source
        locator = _locator(d.expected_locator)
        if locator:
            out["expected_locator"] = locator
    if d.feedback_id is not None:
        out["feedback_id"] = d.feedback_id   # not read by the harness: where the case came from
    try:
        parse_item(out, "(form)")
    except ValueError as exc:
        field, message = exc.args[0]
        raise InputError(f"{FIELD_LABELS.get(field, field)}: {message}.") from None
    return out


def append_case(path: Path, line: dict[str, Any]) -> EvalItem:
    """Append one validated case to the JSONL file at ``path`` (created with its folder); the
    case as the harness reads it back. InputError when its id is in the file already."""
    path = Path(path)
    existing, _issues = load_items([path]) if path.is_file() else ([], [])
    if any(i.id == line["id"] for i in existing):
        raise InputError(f"id: {line['id']!r} is in {path} already (this item was saved as a case before); "
                         "edit the file to change it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    with path.open("a", encoding="utf-8") as fp:
        if text and not text.endswith("\n"):
            fp.write("\n")
        fp.write(json.dumps(line, ensure_ascii=False) + "\n")
    items, issues = load_items([path])
    item = next((i for i in items if i.id == line["id"]), None)
    if item is None:  # pragma: no cover - case() validated the line with the same parser
        raise InputError(f"the case written to {path} does not load back: {'; '.join(map(str, issues))}")
    return item

"""What tools return and what a turn collects, for everyone who reads it: stores and their
offline routes build :class:`ToolOutput` / :class:`Citation`; the agent bridge
(kb_agent/tooling.py), the answerer, the UI and the APIs read them. A ground-floor module: it
imports nothing of Qwen-Agent or the knowledge base, so a store or route can use these types
without importing upward.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator


@dataclass(frozen=True)
class Citation:
    """Where an answer comes from; rendered under answers and in ``--json`` output."""

    source: str
    locator: dict[str, Any]
    text: str
    score: float | None = None
    kind: str = "document"  # document | glossary | fact | table
    number: int | None = None  # the turn-wide evidence number the model cites it by, [n]

    def to_dict(self) -> dict[str, Any]:
        out = {"source": self.source, "locator": self.locator, "text": self.text, "kind": self.kind}
        if self.score is not None:
            out["score"] = round(float(self.score), 4)
        if self.number is not None:
            out["number"] = self.number
        return out


def numbered(citations: Iterable[Citation]) -> Iterator[tuple[int, Citation]]:
    """(number, citation) pairs: the turn's evidence number where one was given, else the position."""
    for i, c in enumerate(citations, 1):
        yield (c.number if c.number is not None else i), c


def evidence_legend(citations: Iterable[Citation]) -> str:
    """The numbers to cite a tool's evidence by, for a tool text that does not number it itself
    (facts, table rows, glossary entries): "Cite as: [3] facts/hr.yaml line 12; [4] …"."""
    items = []
    for n, c in numbered(citations):
        where = c.locator.get("ref") or " ".join(x for x in (c.source, str(c.locator.get("label") or "")) if x)
        items.append(f"[{n}] {where}")
    return "Cite as: " + "; ".join(items) + "."


@dataclass
class ToolOutput:
    """What a tool returns: ``text`` for the model, the rest for people and programs."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)  # structured result (UI cards)
    found: bool = True
    #: For outputs whose text numbers its citations [1], [2]…: the text with the numbering
    #: starting at the given number. The turn's recorder calls it so that a second call in
    #: one turn continues the numbering instead of restarting at [1].
    numbered_text: Callable[[int], str] | None = None


@dataclass
class ToolEvent:
    name: str
    arguments: dict[str, Any]
    output: ToolOutput
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


class TurnRecorder:
    """Collects the tool calls of one turn (thread-safe; one recorder per turn)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[ToolEvent] = []
        self._next_number = 1

    def add(self, event: ToolEvent) -> None:
        """Record ``event`` and give its citations the turn's next evidence numbers (the tool
        text the model reads is renumbered to match, when the output is numbered)."""
        with self._lock:
            out = event.output
            first = self._next_number
            out.citations = [replace(c, number=first + i) for i, c in enumerate(out.citations)]
            self._next_number += len(out.citations)
            if out.numbered_text is not None:
                out.text = out.numbered_text(first)
            elif out.citations:
                out.text = f"{out.text}\n\n{evidence_legend(out.citations)}"
            self.events.append(event)

    @property
    def evidence(self) -> list[Citation]:
        """Every citation of the turn, in number order (a passage returned twice has two numbers)."""
        return [c for ev in self.events for c in ev.output.citations]

    @property
    def citations(self) -> list[Citation]:
        seen, out = set(), []
        for ev in self.events:
            for c in ev.output.citations:
                key = (c.source, json.dumps(c.locator, sort_keys=True, ensure_ascii=False), c.text[:80])
                if key not in seen:
                    seen.add(key)
                    out.append(c)
        return out

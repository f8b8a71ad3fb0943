"""The ingestion report: one line per file, plus totals; ``to_dict()`` is the CLI's --json."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from kb_agent.ingest.stages import STAGES

Status = Literal["ok", "unchanged", "skipped", "failed"]


@dataclass
class FileOutcome:
    path: str  # the source (relative to its root, POSIX), or the argument for a missing path
    status: Status
    chunks: int = 0
    reason: str | None = None
    root: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    hook_errors: list[str] = field(default_factory=list)
    #: Seconds per stage (parse, ocr, asr, embed, write) for a file that was parsed.
    stages: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"path": self.path, "status": self.status, "chunks": self.chunks, "reason": self.reason}
        if self.root:
            d["root"] = self.root
        if self.hook_errors:
            d["hook_errors"] = self.hook_errors
        d["seconds"] = round(self.seconds, 3)
        if self.stages:
            d["stages"] = rounded(self.stages)
        return d

    def line(self) -> str:
        tail = f" — {self.reason}" if self.reason else ""
        count = f" ({self.chunks} chunks)" if self.status in ("ok", "unchanged") else ""
        return f"{self.status:9s} {self.path}{count}{tail}"


@dataclass
class IngestReport:
    files: list[FileOutcome] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    model_id: str = ""
    embedded: int = 0  # texts embedded in this run
    embed_cached: int = 0  # chunks whose vector came from the cache
    generation: int = 0
    store_chunks: int = 0
    errors: list[str] = field(default_factory=list)  # run-level problems (not one file's)
    #: Seconds per stage, summed over files (parse, OCR and ASR run in several workers at
    #: once, so the sum can exceed the run's wall time) plus the end-of-run backfill's embed.
    stages: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    #: Seconds the main thread waited for a parsed file: the embedder had nothing to do.
    parse_wait_s: float = 0.0

    def totals(self) -> dict[str, int]:
        t = {"files": len(self.files), "ok": 0, "unchanged": 0, "skipped": 0, "failed": 0,
             "chunks": 0, "removed": len(self.removed)}
        for f in self.files:
            t[f.status] += 1
            if f.status == "ok":
                t["chunks"] += f.chunks
        return t

    @property
    def exit_code(self) -> int:
        """0 when anything could be ingested (or was already, or only deletions happened)."""
        t = self.totals()
        if t["ok"] or t["unchanged"]:
            return 0
        return 0 if (self.removed and not t["files"]) else 1

    def to_dict(self) -> dict[str, Any]:
        return {"files": [f.to_dict() for f in self.files], "removed": self.removed, "totals": self.totals(),
                "embedded": self.embedded, "embed_cached": self.embed_cached, "model_id": self.model_id,
                "generation": self.generation, "store_chunks": self.store_chunks, "errors": self.errors,
                "seconds": round(self.seconds, 3), "stages": rounded(self.stages),
                "parse_wait_s": round(self.parse_wait_s, 3)}


def rounded(stages: dict[str, float]) -> dict[str, float]:
    """Every stage, in order, to the millisecond."""
    return {k: round(stages.get(k, 0.0), 3) for k in STAGES}

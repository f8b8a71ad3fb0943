"""What a parser returns: sections of text, each with its exact locator, plus notes.

A parser never decides chunk sizes: it emits structural units (a page, a slide, a heading's
paragraphs, a spreadsheet row, a video scene) and the chunker packs and splits them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from kb_agent.chunk import Locator


@dataclass(frozen=True)
class Section:
    locator: Locator
    text: str


@dataclass
class ParsedDoc:
    sections: list[Section] = field(default_factory=list)
    title: str = ""
    #: Things the report should say although the file was ingested ("no transcript: ...").
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ParseOptions:
    """The part of IngestSettings parsers need (picklable, sent to worker processes)."""

    max_pages: int = 5000
    max_unzipped_bytes: int = 512 * 2**20
    max_zip_ratio: float = 200.0
    ocr: bool = True
    ocr_min_chars: int = 20
    ocr_page_timeout_s: float = 60.0
    ocr_file_budget_s: float = 600.0
    asr_backend: str = "pocketsphinx"
    asr_model_dir: str | None = None
    asr_api_key: str | None = None
    asr_file_budget_s: float = 120.0
    video_max_keyframes: int = 30
    video_scene_threshold: float = 0.35
    chunk_tokens: int = 400
    chunk_overlap_tokens: int = 40
    max_chunks: int = 20000

    @classmethod
    def from_settings(cls, ingest, asr_api_key: str | None = None) -> "ParseOptions":
        return cls(max_pages=ingest.max_pages, max_unzipped_bytes=int(ingest.max_unzipped_mb * 2**20),
                   max_zip_ratio=ingest.max_zip_ratio, ocr=ingest.ocr, ocr_min_chars=ingest.ocr_min_chars,
                   ocr_page_timeout_s=ingest.ocr_page_timeout_s, ocr_file_budget_s=ingest.ocr_file_budget_s,
                   asr_backend=ingest.asr_backend,
                   asr_model_dir=str(ingest.asr_model_dir) if ingest.asr_model_dir else None,
                   asr_api_key=asr_api_key, asr_file_budget_s=ingest.asr_file_budget_s,
                   video_max_keyframes=ingest.video_max_keyframes,
                   video_scene_threshold=ingest.video_scene_threshold, chunk_tokens=ingest.chunk_tokens,
                   chunk_overlap_tokens=ingest.chunk_overlap_tokens, max_chunks=ingest.max_chunks_per_file)

    def signature(self) -> str:
        """Changes when re-parsing would give different chunks (part of the manifest).

        ``max_chunks`` and the OCR time limits are left out on purpose: they only matter for
        the rare file that reaches them, and changing them must not re-parse every file; they
        apply when a file is next parsed."""
        return (f"v1;ocr={int(self.ocr)},{self.ocr_min_chars};asr={self.asr_backend};"
                f"kf={self.video_max_keyframes},{self.video_scene_threshold};"
                f"chunk={self.chunk_tokens},{self.chunk_overlap_tokens};pages={self.max_pages}")


class Parser(Protocol):
    #: Lower-case suffixes with the dot: (".pdf",)
    suffixes: tuple[str, ...]

    def parse(self, path: Path, options: ParseOptions) -> ParsedDoc:
        """Raise kb_agent.errors.ParseError with a short reason for a bad file."""

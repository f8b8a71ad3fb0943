"""The unit of indexed content: a frozen :class:`Chunk` with an exact :class:`Locator`.

A chunk's id is a hash of its source, locator and text, so re-ingesting identical content
produces identical ids and is harmless.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Mapping

LocatorKind = Literal["page", "slide", "sheet", "heading", "time", "file", "header", "footer", "comment"]


def _fmt_time(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


@dataclass(frozen=True)
class Locator:
    """Where inside a source file a piece of text lives.

    Exactly the fields that belong to ``kind`` are set: ``page`` (1-based) for PDFs,
    ``slide`` (1-based) for presentations, ``sheet`` + ``cell_range`` ("A1:D9") for
    spreadsheets, ``heading_path`` for DOCX/Markdown/TXT, ``start_s``/``end_s`` for audio
    and video, nothing for ``file`` (a whole small file). Word's page ``header`` and ``footer``
    (one locator each, however many sections repeat them) set nothing; a ``comment`` keeps the
    heading path of the text it is anchored to.
    """

    kind: LocatorKind
    page: int | None = None
    slide: int | None = None
    sheet: str | None = None
    cell_range: str | None = None
    heading_path: tuple[str, ...] = ()
    start_s: float | None = None
    end_s: float | None = None

    @classmethod
    def for_page(cls, page: int) -> "Locator":
        return cls(kind="page", page=page)

    @classmethod
    def for_slide(cls, slide: int) -> "Locator":
        return cls(kind="slide", slide=slide)

    @classmethod
    def for_sheet(cls, sheet: str, cell_range: str | None = None) -> "Locator":
        return cls(kind="sheet", sheet=sheet, cell_range=cell_range)

    @classmethod
    def for_heading(cls, *path: str) -> "Locator":
        return cls(kind="heading", heading_path=tuple(path))

    @classmethod
    def for_comment(cls, *path: str) -> "Locator":
        return cls(kind="comment", heading_path=tuple(path))

    @classmethod
    def for_time(cls, start_s: float, end_s: float) -> "Locator":
        return cls(kind="time", start_s=round(start_s, 2), end_s=round(end_s, 2))

    def label(self) -> str:
        """Short human-readable form: 'p. 3', 'slide 2', 'Sheet1!A1:C5', 'Intro > Scope',
        'header', 'footer', 'Intro > Scope (comment)'."""
        if self.kind == "page":
            return f"p. {self.page}"
        if self.kind == "slide":
            return f"slide {self.slide}"
        if self.kind == "sheet":
            return f"{self.sheet}!{self.cell_range}" if self.cell_range else f"{self.sheet}"
        if self.kind == "heading":
            return " > ".join(self.heading_path) if self.heading_path else "(top)"
        if self.kind == "time":
            return f"{_fmt_time(self.start_s or 0)}–{_fmt_time(self.end_s or 0)}"
        if self.kind in ("header", "footer"):
            return self.kind
        if self.kind == "comment":
            return f"{' > '.join(self.heading_path)} (comment)" if self.heading_path else "comment"
        return "(whole file)"

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form used by ``--json`` outputs and citations (unset fields omitted)."""
        out: dict[str, Any] = {"kind": self.kind}
        for key in ("page", "slide", "sheet", "cell_range", "start_s", "end_s"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.heading_path:
            out["heading_path"] = list(self.heading_path)
        out["label"] = self.label()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Locator":
        return cls(
            kind=data["kind"],
            page=data.get("page"),
            slide=data.get("slide"),
            sheet=data.get("sheet"),
            cell_range=data.get("cell_range"),
            heading_path=tuple(data.get("heading_path") or ()),
            start_s=data.get("start_s"),
            end_s=data.get("end_s"),
        )

    def key(self) -> str:
        """Canonical string used in chunk ids."""
        return repr(sorted((k, v) for k, v in self.to_dict().items() if k != "label"))


def chunk_id(source: str, locator: Locator, text: str) -> str:
    h = hashlib.sha256()
    for part in (source, locator.key(), text):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:32]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Chunk:
    """A piece of a document, ready for indexing.

    ``source`` is the path relative to the ingested root (POSIX separators); ``title`` the
    document title or heading path shown to users; ``metadata`` carries at least
    ``doc_title``, ``mtime``, ``content_hash`` (of the whole file) and ``access_groups``.
    """

    text: str
    source: str
    locator: Locator
    title: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", chunk_id(self.source, self.locator, self.text))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    @property
    def access_groups(self) -> tuple[str, ...]:
        return tuple(self.metadata.get("access_groups") or ("everyone",))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "source": self.source,
            "locator": self.locator.to_dict(),
            "title": self.title,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Chunk":
        return cls(
            text=data["text"],
            source=data["source"],
            locator=Locator.from_dict(data["locator"]),
            title=data.get("title", ""),
            metadata=data.get("metadata") or {},
            id=data.get("id", ""),
        )

"""Uploaded files: sanitised names, size cap and type check before anything is ingested."""

from __future__ import annotations

import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

# Magic bytes of binary formats; a file whose content does not match its suffix is refused.
_MAGIC = {
    ".pdf": (b"%PDF",),
    ".docx": (b"PK\x03\x04",), ".pptx": (b"PK\x03\x04",), ".xlsx": (b"PK\x03\x04",),
    ".xls": (b"\xd0\xcf\x11\xe0",),
    ".png": (b"\x89PNG",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
    ".wav": (b"RIFF",), ".avi": (b"RIFF",),
    ".mp3": (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"),
}
_TEXT = {".txt", ".md", ".csv"}
_UNSAFE = re.compile(r"[^\w.\- ()\u3400-\u9fff]+")


def safe_name(name: str) -> str:
    """A plain file name: no directories, no traversal, no control characters."""
    name = unicodedata.normalize("NFC", str(name)).replace("\\", "/").split("/")[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    name = re.sub(r"_+", "_", name)
    return name[:120] or "upload"


@dataclass(frozen=True)
class UploadCheck:
    name: str          # the sanitised name
    ok: bool
    reason: str | None = None


def check_upload(path: Path, original_name: str, allowed: list[str], max_mb: float) -> UploadCheck:
    name = safe_name(original_name)
    suffix = Path(name).suffix.lower()
    if suffix not in {s.lower() for s in allowed}:
        return UploadCheck(name, False, f"file type '{suffix or '(none)'}' is not accepted")
    size = path.stat().st_size
    if size > max_mb * 2**20:
        return UploadCheck(name, False, f"{size / 2**20:.1f} MB is over the {max_mb:g} MB limit")
    if size == 0:
        return UploadCheck(name, False, "the file is empty")
    with path.open("rb") as fh:
        head = fh.read(8192)
    magic = _MAGIC.get(suffix)
    if magic and not head.startswith(magic):
        return UploadCheck(name, False, f"the content is not a {suffix} file")
    if suffix in _TEXT:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # a cut multi-byte character at the end is fine
                return UploadCheck(name, False, "not UTF-8 text")
    return UploadCheck(name, True)


def store_upload(path: Path, check: UploadCheck, target_dir: Path) -> Path:
    """Copy an accepted upload into ``target_dir`` under its sanitised name (never outside)."""
    target_dir.mkdir(parents=True, exist_ok=True)
    target = (target_dir / check.name).resolve()
    if not target.is_relative_to(target_dir.resolve()):  # defensive; safe_name already forbids it
        raise ValueError(f"refusing to write outside {target_dir}")
    tmp = target.with_name(target.name + ".part")
    shutil.copyfile(path, tmp)
    tmp.replace(target)
    return target

"""Cheap checks before a parser touches a file: does the content match the suffix, and is an
Office file a zip bomb or a password-protected (CFB-wrapped) package?"""

from __future__ import annotations

import zipfile
from pathlib import Path

from kb_agent.errors import ParseError

_MAGIC = [
    (b"%PDF", "pdf"), (b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "cfb"),
    (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"),
    (b"BM", "bmp"), (b"GIF8", "gif"), (b"RIFF", "riff"), (b"ID3", "mp3"), (b"fLaC", "flac"), (b"OggS", "ogg"),
    (b"\x1aE\xdf\xa3", "mkv"), (b"Rar!", "rar"), (b"7z\xbc\xaf", "7z"), (b"\x1f\x8b", "gzip"),
]

#: What each suffix family expects to see at the start of the file.
_EXPECT = {
    ".pdf": {"pdf"}, ".docx": {"zip"}, ".pptx": {"zip"}, ".xlsx": {"zip"}, ".xlsm": {"zip"}, ".xls": {"cfb"},
    ".png": {"png"}, ".jpg": {"jpeg"}, ".jpeg": {"jpeg"}, ".tif": {"tiff"}, ".tiff": {"tiff"}, ".bmp": {"bmp"},
    ".wav": {"riff"},
}
_OOXML_PART = {".docx": "word/document.xml", ".pptx": "ppt/presentation.xml", ".xlsx": "xl/workbook.xml",
               ".xlsm": "xl/workbook.xml"}


def sniff(head: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:1024].find(b"%PDF-") >= 0:
        return "pdf"  # junk before the header is tolerated by PDF readers
    if len(head) > 8 and head[4:8] == b"ftyp":
        return "mp4"
    return None


def check_content(path: Path, suffix: str, options) -> None:
    """Raise ParseError when the file is not what its suffix says, or is unsafe to open."""
    with open(path, "rb") as fh:
        head = fh.read(2048)
    kind = sniff(head)
    expected = _EXPECT.get(suffix)
    if expected and kind not in expected:
        if kind == "cfb" and suffix in _OOXML_PART:
            raise ParseError(str(path), "encrypted (password-protected Office file)")
        if suffix == ".pdf" and kind is None and not head.strip():
            raise ParseError(str(path), "not a PDF (blank content)")
        what = f"looks like {kind.upper()}" if kind else "unrecognised content"
        raise ParseError(str(path), f"content does not match suffix {suffix} ({what})")
    if suffix in _OOXML_PART:
        check_zip(path, suffix, options)


def check_zip(path: Path, suffix: str, options) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ParseError(str(path), f"corrupt or truncated Office file ({exc})") from exc
    if _OOXML_PART[suffix] not in names:
        raise ParseError(str(path), f"not a valid {suffix} package (missing {_OOXML_PART[suffix]})")
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > options.max_unzipped_bytes:
        raise ParseError(str(path), f"archive expands to {total / 2**20:.0f} MiB, over the "
                         f"{options.max_unzipped_bytes / 2**20:.0f} MiB cap (zip bomb?)")
    if total > 10 * 2**20 and total / packed > options.max_zip_ratio:
        raise ParseError(str(path), f"compression ratio {total / packed:.0f}:1 is over the cap "
                         f"{options.max_zip_ratio:.0f}:1 (zip bomb?)")

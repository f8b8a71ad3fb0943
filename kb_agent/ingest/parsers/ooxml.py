"""Office Open XML packages (DOCX, PPTX, XLSX) read part by part, with bounds.

``part_xml`` and ``part_rels`` read one part and its relationships straight from the zip.

python-docx, python-pptx and openpyxl parse every part they know as they open a package, so
one side part that is not well-formed XML (a chart, a header, the comments, a spreadsheet
drawing) fails the whole file. ``stub_broken_parts`` makes an in-memory copy in which each
such part is replaced by an empty one of its kind and says which were replaced: the
document is then read without them, and the report names what was lost.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from kb_agent.errors import ParseError

_PKG_R = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
#: A part larger than this is not parsed here (a real chart or drawing is well under 1 MiB).
MAX_PART_BYTES = 16 * 2**20
#: No entity expansion, no network, lxml's limits on depth and node size.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def part_xml(zf: zipfile.ZipFile, name: str):
    """The root element of part ``name``; ParseError when it is missing, too large or not XML."""
    try:
        size = zf.getinfo(name).file_size
    except KeyError as exc:
        raise ParseError(name, "part missing") from exc
    if size > MAX_PART_BYTES:
        raise ParseError(name, f"part too large ({size / 2**20:.0f} MiB)")
    return xml_root(zf.read(name), name)


def xml_root(blob: bytes, name: str = "part"):
    """Parse ``blob`` with the safe parser; ParseError (reason: the lxml error's type) when
    it is not well-formed."""
    if len(blob) > MAX_PART_BYTES:
        raise ParseError(name, f"part too large ({len(blob) / 2**20:.0f} MiB)")
    try:
        return etree.fromstring(blob, PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise ParseError(name, type(exc).__name__) from exc


def part_rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """rId -> (relationship type, part name) for the package-internal relationships of
    ``part``; {} when it has none. ParseError when its .rels part is broken."""
    folder, base = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", base + ".rels")
    if rels not in zf.NameToInfo:
        return {}
    out = {}
    for r in part_xml(zf, rels).iter(_PKG_R):
        target = r.get("Target") or ""
        if r.get("TargetMode") == "External" or not target:
            continue
        name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out[r.get("Id") or ""] = (r.get("Type") or "", name)
    return out


@dataclass
class Stubbed:
    """A package copy (``data``, None when nothing needed replacing) and the parts replaced:
    part name -> (kind, reason)."""

    data: io.BytesIO | None = None
    replaced: dict[str, tuple[str, str]] = field(default_factory=dict)


def stub_broken_parts(path: Path, stubs: dict[str, bytes]) -> Stubbed:
    """Replace each part that a relationship of a kind in ``stubs`` (the end of the
    relationship type: "chart", "header", ...) points to and that does not parse by
    ``stubs[kind]``. Raises nothing: a package that cannot be walked gives an empty result."""
    out = Stubbed()
    try:
        with zipfile.ZipFile(path) as zf:
            kinds = _side_parts(zf, stubs)
            for name, kind in kinds.items():
                try:
                    part_xml(zf, name)
                except ParseError as exc:
                    out.replaced[name] = (kind, exc.reason)
            if not out.replaced:
                return out
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as copy:
                for info in zf.infolist():
                    stub = out.replaced.get(info.filename)
                    copy.writestr(info, stubs[stub[0]] if stub else zf.read(info))
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError):
        return Stubbed()
    buf.seek(0)
    out.data = buf
    return out


def _side_parts(zf: zipfile.ZipFile, stubs: dict[str, bytes]) -> dict[str, str]:
    """Part name -> kind for every part a relationship of a kind in ``stubs`` points to."""
    found: dict[str, str] = {}
    for rels in (n for n in zf.namelist() if n.endswith(".rels")):
        folder = posixpath.dirname(posixpath.dirname(rels))
        source = posixpath.join(folder, posixpath.basename(rels)[:-len(".rels")])
        try:
            targets = part_rels(zf, source)
        except ParseError:
            continue  # a broken .rels: the library fails on it the same way with or without us
        for rel_type, name in targets.values():
            kind = rel_type.rsplit("/", 1)[-1]
            if kind in stubs and name in zf.NameToInfo:
                found[name] = kind
    return found

"""Structure-aware, token-bounded chunking with Chinese-aware sentence splitting.

Rules: a chunk never crosses a section (page, slide, heading, sheet, time span); inside a
section, paragraph boundaries are preferred, then sentence boundaries (。！？；!?; and '. '),
then a hard cut. Consecutive spreadsheet rows of one sheet are packed together and their cell
ranges merged. Tokens are estimated (CJK character = 1, Latin word ≈ 1.3, a run of letters
or digits past 20 characters one more per 4 characters), close to what the e5/bge
tokenizers count, without loading a tokenizer.

Every chunk is bounded by tokens *and* by characters (``CHARS_PER_TOKEN`` × the token
budget) whatever the text looks like: a 300 KB line without whitespace, base64, minified
code or a run of spaces is cut hard. Heading texts in locators are cut to ``MAX_HEADING_CHARS``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from kb_agent.chunk import Locator
from kb_agent.ingest.model import Section

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
_WORD = re.compile(r"[A-Za-z]+|\d+")
_SENT = re.compile(r"(?<=[。！？；!?;])|(?<=[.:])\s+")
_CELL = re.compile(r"^([A-Z]+)(\d+)$")
#: A chunk holds at most this many characters per token of its budget (400 tokens: 2,400
#: characters). Ordinary prose stays well inside it (≈ 4.5 characters per estimated token).
CHARS_PER_TOKEN = 6
#: A heading (a Markdown line after ``#``) is a locator and part of the title, never a body.
MAX_HEADING_CHARS = 200
_LONG_RUN = 20


def estimate_tokens(text: str) -> int:
    cjk = len(_CJK.findall(text))
    words = _WORD.findall(text)
    long_extra = sum(len(w) - _LONG_RUN for w in words if len(w) > _LONG_RUN) / 4
    other = len(re.sub(r"[\s\w]", "", _CJK.sub("", text))) // 2
    return cjk + math.ceil(1.3 * len(words) + long_extra) + other


@dataclass(frozen=True)
class Piece:
    """A chunk before it becomes a :class:`~kb_agent.chunk.Chunk` (picklable)."""

    locator: Locator
    text: str


def chunk_sections(sections: list[Section], max_tokens: int = 400, overlap_tokens: int = 40,
                   max_chars: int | None = None) -> list[Piece]:
    """``max_chars`` defaults to ``CHARS_PER_TOKEN * max_tokens``."""
    max_chars = max_chars or CHARS_PER_TOKEN * max_tokens
    pieces: list[Piece] = []
    i = 0
    while i < len(sections):
        sec = sections[i]
        if sec.locator.kind == "sheet":
            j = i
            while j + 1 < len(sections) and sections[j + 1].locator.kind == "sheet" \
                    and sections[j + 1].locator.sheet == sec.locator.sheet:
                j += 1
            pieces += _pack_rows(sections[i:j + 1], max_tokens, max_chars)
            i = j + 1
            continue
        loc = _bounded_locator(sec.locator)
        pieces += [Piece(loc, t) for t in split_text(sec.text, max_tokens, overlap_tokens, max_chars)]
        i += 1
    return pieces


def _bounded_locator(loc: Locator) -> Locator:
    if not any(len(h) > MAX_HEADING_CHARS for h in loc.heading_path):
        return loc
    return replace(loc, heading_path=tuple(h if len(h) <= MAX_HEADING_CHARS else h[:MAX_HEADING_CHARS - 1] + "…"
                                           for h in loc.heading_path))


def split_text(text: str, max_tokens: int, overlap_tokens: int = 0, max_chars: int | None = None) -> list[str]:
    """Split one section's text into pieces of at most ``max_tokens`` estimated tokens and
    ``max_chars`` characters (default ``CHARS_PER_TOKEN * max_tokens``); empty text gives none."""
    max_chars = max_chars or CHARS_PER_TOKEN * max_tokens
    text = text.strip()
    if not text:
        return []

    def fits(t: str) -> bool:
        return len(t) <= max_chars and estimate_tokens(t) <= max_tokens

    if fits(text):
        return [text]
    units: list[tuple[str, str]] = []  # (text, separator to put before it)
    for para in (p.strip() for p in re.split(r"\n+", text)):
        if not para:
            continue
        if fits(para):
            units.append((para, "\n"))
            continue
        first = True
        for sent in (s.strip() for s in _SENT.split(para)):
            if not sent:
                continue
            for part in _hard_cut(sent, max_tokens, max_chars):
                units.append((part, "\n" if first else _joiner(part)))
                first = False
    out: list[str] = []
    cur: list[tuple[str, str]] = []
    cur_tokens = cur_chars = 0
    for unit in units:
        t, n = estimate_tokens(unit[0]), len(unit[0]) + 1
        if cur and (cur_tokens + t > max_tokens or cur_chars + n > max_chars):
            out.append(_join(cur))
            # Carry trailing units (up to the overlap budget) into the next chunk.
            carry: list[tuple[str, str]] = []
            budget, room = min(overlap_tokens, max_tokens - t), max_chars - n
            for u in reversed(cur):
                ut, un = estimate_tokens(u[0]), len(u[0]) + 1
                if ut > budget or un > room:
                    break
                carry.insert(0, u)
                budget -= ut
                room -= un
            cur = carry
            cur_tokens, cur_chars = sum(estimate_tokens(u[0]) for u in carry), sum(len(u[0]) + 1 for u in carry)
        cur.append(unit)
        cur_tokens += t
        cur_chars += n
    if cur:
        out.append(_join(cur))
    return out


def _joiner(part: str) -> str:
    return "" if _CJK.match(part[:1]) else " "


def _join(units: list[tuple[str, str]]) -> str:
    return "".join((sep if k else "") + txt for k, (txt, sep) in enumerate(units)).strip()


def _hard_cut(text: str, max_tokens: int, max_chars: int) -> list[str]:
    if len(text) <= max_chars and estimate_tokens(text) <= max_tokens:
        return [text]
    out, start = [], 0
    while start < len(text):
        lo, hi = start + 1, min(len(text), start + max_chars)
        while lo < hi:  # the longest prefix that fits
            mid = (lo + hi + 1) // 2
            if estimate_tokens(text[start:mid]) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        end = lo
        space = text.rfind(" ", start + 1, end)
        if end < len(text) and space > start + (end - start) // 2:
            end = space
        out.append(text[start:end].strip())
        start = end
    return [o for o in out if o]


def _pack_rows(rows: list[Section], max_tokens: int, max_chars: int) -> list[Piece]:
    out: list[Piece] = []
    group: list[Section] = []
    tokens = chars = 0
    for row in rows:
        t, n = estimate_tokens(row.text), len(row.text) + 1
        if group and (tokens + t > max_tokens or chars + n > max_chars):
            out.append(_merge_rows(group))
            group, tokens, chars = [], 0, 0
        if t > max_tokens or n > max_chars:  # one huge row: split its text, keep its range
            out += [Piece(row.locator, part) for part in split_text(row.text, max_tokens, 0, max_chars)]
            continue
        group.append(row)
        tokens += t
        chars += n
    if group:
        out.append(_merge_rows(group))
    return out


def _merge_rows(group: list[Section]) -> Piece:
    first, last = group[0].locator, group[-1].locator
    rng = merge_ranges([s.locator.cell_range for s in group if s.locator.cell_range])
    texts = [s.text for s in group]
    if len(texts) > 1 and texts[0].startswith("[") and "] " in texts[0]:
        prefix = texts[0][:texts[0].index("] ") + 2]
        if all(t.startswith(prefix) for t in texts):  # a sheet caption: say it once
            texts = [prefix.strip()] + [t[len(prefix):] for t in texts]
    return Piece(Locator.for_sheet(first.sheet or last.sheet or "", rng), "\n".join(texts))


def merge_ranges(ranges: list[str]) -> str | None:
    """Bounding box of 'A2:D2', 'A3:D3' -> 'A2:D3'."""
    cols, rows = [], []
    for r in ranges:
        for cell in r.split(":"):
            m = _CELL.match(cell)
            if m:
                cols.append(_col_num(m.group(1)))
                rows.append(int(m.group(2)))
    if not cols:
        return None
    return f"{col_letter(min(cols))}{min(rows)}:{col_letter(max(cols))}{max(rows)}"


def _col_num(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def col_letter(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out

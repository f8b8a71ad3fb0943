"""Navigation is not content: tables of contents, indexes and lists of figures.

Such a chunk names every topic of its document — so it matches many questions, often above
the page it points to — but answers none. :func:`is_navigation` recognises one from its text
alone, so it applies to every chunk already in a store (no re-ingestion) and to every format:

- dot leaders or long gaps before a page number ("安装 ........ 12", "Index 3 ··· 41"), on
  most of its lines;
- a run of section numbers with only short titles between them ("1.1. 本 FAQ 文档是什么？
  1.2. 什么是 Debian？…", an HTML table of contents collapsed into one paragraph);
- a first line that says so (目录 / 索引 / Contents / Table of Contents / Index / List of
  Figures) followed by either of the above.

The Retriever ranks navigation chunks after content ones (kb_agent/index/retriever.py);
they are still returned when nothing else matches.
"""

from __future__ import annotations

import re

_LEADER_LINE = re.compile(r"\S.*?(?:\.{3,}|…{2,}|·{3,}|\s{3,}|_{3,})\s*\d{1,4}\s*$")
_SECTION_REF = re.compile(r"(?<![\d.])\d{1,2}(?:\.\d{1,3}){1,3}\.?(?=\s|[^\d\s.+\-~])")   # not 5.0.6+edu1
_TITLE = re.compile(r"^\s*(目录|目 录|索引|图目录|表目录|contents|table of contents|index|list of (figures|tables))\s*$",
                    re.IGNORECASE)

MIN_LEADER_LINES = 3
LEADER_SHARE = 0.5
MIN_SECTION_REFS = 5
MAX_CHARS_PER_REF = 60      # titles between section numbers are short; prose is not


def is_navigation(text: str) -> bool:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return False
    titled = bool(_TITLE.match(lines[0]))
    body = lines[1:] if titled else lines
    leaders = sum(1 for ln in body if _LEADER_LINE.match(ln))
    if leaders >= MIN_LEADER_LINES and leaders >= LEADER_SHARE * len(body):
        return True
    joined = " ".join(body)
    refs = len(_SECTION_REF.findall(joined))
    min_refs = 3 if titled else MIN_SECTION_REFS
    return refs >= min_refs and len(joined) / refs <= MAX_CHARS_PER_REF

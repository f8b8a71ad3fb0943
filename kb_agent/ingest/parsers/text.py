"""Plain text, Markdown (heading path from # headings) and HTML (h1–h6). Encodings: UTF-8
(with or without BOM), UTF-16 with BOM, GB18030 (covers GBK/GB2312). Locator: heading path."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from kb_agent.chunk import Locator
from kb_agent.errors import ParseError
from kb_agent.ingest.model import ParsedDoc, ParseOptions, Section

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def decode(path: Path, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:8192]:
        raise ParseError(str(path), "binary content, not a text file")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


class _Builder:
    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.stack: list[tuple[int, str]] = []
        self.buf: list[str] = []

    def heading(self, level: int, text: str) -> None:
        self.flush()
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, text))

    def flush(self) -> None:
        text = "\n".join(self.buf).strip()
        if text:
            self.sections.append(Section(Locator.for_heading(*[h for _, h in self.stack]), text))
        self.buf.clear()


class TextParser:
    suffixes = (".txt", ".text", ".log")

    def parse(self, path: Path, options: ParseOptions) -> ParsedDoc:
        text = decode(path, path.read_bytes())
        if not text.strip():
            raise ParseError(str(path), "no text (blank file)")
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        return ParsedDoc(sections=[Section(Locator.for_heading(), text.strip())], title=first[:120])


class MarkdownParser:
    suffixes = (".md", ".markdown")

    def parse(self, path: Path, options: ParseOptions) -> ParsedDoc:
        text = decode(path, path.read_bytes())
        b = _Builder()
        title = ""
        fenced = False
        for line in text.splitlines():
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            m = None if fenced else _MD_HEADING.match(line)
            if m:
                b.heading(len(m.group(1)), m.group(2))
                title = title or (m.group(2) if len(m.group(1)) == 1 else "")
            else:
                b.buf.append(line)
        b.flush()
        if not b.sections:
            raise ParseError(str(path), "no text (blank file)")
        return ParsedDoc(sections=b.sections, title=title)


class _Html(HTMLParser):
    BLOCK = {"p", "div", "br", "li", "tr", "section", "article", "table", "ul", "ol", "pre", "blockquote"}

    def __init__(self, builder: _Builder) -> None:
        super().__init__(convert_charrefs=True)
        self.b = builder
        self.skip = 0
        self.heading: tuple[int, list[str]] | None = None
        self.title: list[str] = []
        self.in_title = False
        self.line: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "noscript", "template"):
            self.skip += 1
        elif tag == "title":
            self.in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self._end_line()
            self.heading = (int(tag[1]), [])
        elif tag in self.BLOCK:
            self._end_line()
        elif tag in ("td", "th"):
            self.line.append(" | ")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "noscript", "template"):
            self.skip = max(0, self.skip - 1)
        elif tag == "title":
            self.in_title = False
        elif self.heading and re.fullmatch(r"h[1-6]", tag):
            text = " ".join("".join(self.heading[1]).split())
            if text:
                self.b.heading(self.heading[0], text)
            self.heading = None
        elif tag in self.BLOCK:
            self._end_line()

    def handle_data(self, data):
        if self.skip:
            return
        if self.in_title:
            self.title.append(data)
        elif self.heading:
            self.heading[1].append(data)
        else:
            self.line.append(data)

    def _end_line(self):
        text = " ".join("".join(self.line).split()).strip(" |")
        if text:
            self.b.buf.append(text)
        self.line = []


class HtmlParser:
    suffixes = (".html", ".htm")

    def parse(self, path: Path, options: ParseOptions) -> ParsedDoc:
        text = decode(path, path.read_bytes())
        b = _Builder()
        p = _Html(b)
        p.feed(text)
        p.close()
        p._end_line()
        b.flush()
        if not b.sections:
            raise ParseError(str(path), "no text in HTML page")
        return ParsedDoc(sections=b.sections, title=" ".join("".join(p.title).split()))

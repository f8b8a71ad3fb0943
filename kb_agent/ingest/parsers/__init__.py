"""The parser registry, keyed by lower-case suffix. One module per format family."""

from __future__ import annotations

from kb_agent.ingest.model import Parser
from kb_agent.ingest.parsers.docx import DocxParser
from kb_agent.ingest.parsers.media import AudioParser, ImageParser, VideoParser
from kb_agent.ingest.parsers.pdf import PdfParser
from kb_agent.ingest.parsers.pptx import PptxParser
from kb_agent.ingest.parsers.sheets import CsvParser, XlsParser, XlsxParser
from kb_agent.ingest.parsers.text import HtmlParser, MarkdownParser, TextParser

PARSERS: list[Parser] = [PdfParser(), DocxParser(), PptxParser(), XlsxParser(), XlsParser(), CsvParser(),
                         TextParser(), MarkdownParser(), HtmlParser(), ImageParser(), AudioParser(), VideoParser()]
REGISTRY: dict[str, Parser] = {s: p for p in PARSERS for s in p.suffixes}

#: Known formats we do not parse, with the reason the report gives.
UNSUPPORTED = {
    ".doc": "old binary Word format (.doc) is not supported: save it as .docx",
    ".ppt": "old binary PowerPoint format (.ppt) is not supported: save it as .pptx",
    ".zip": "archive: unpack it into the folder", ".rar": "archive: unpack it into the folder",
    ".7z": "archive: unpack it into the folder", ".gz": "archive: unpack it into the folder",
    ".tar": "archive: unpack it into the folder", ".exe": "program, not a document",
}


def parser_for(suffix: str) -> Parser | None:
    return REGISTRY.get(suffix.lower())


def skip_reason(suffix: str) -> str:
    return UNSUPPORTED.get(suffix.lower(), f"unsupported file type {suffix or '(no suffix)'}")

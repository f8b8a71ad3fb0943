"""Grounding check of a final answer against the evidence of its turn (issue #12, item 2).

Pure functions, no LLM: :func:`check` splits the answer into sentences (Chinese 。！？；,
English . ! ?, markdown bullets, line breaks; citation markers right after a sentence end
belong to that sentence) and verifies that

a. every citation marker ([1], [2,3], [1][4], 【1】) names evidence of this turn (``citation``);
b. every URL, e-mail address, file name and page/slide/sheet/cell reference occurs in the
   evidence texts, sources or locators (``url``, ``email``, ``file``, ``locator``); a page or
   slide cited from [n] must be [n]'s page or slide, a cell must lie in [n]'s cell range;
c. every number, date, time, amount, version and code-like string (hex digests, part numbers
   such as SL-500, phone numbers) occurs in the evidence its sentence cites, or in any evidence
   when the sentence cites nothing, after normalising the obvious forms (2,000 = 2000,
   2026-01-05 = 2026年1月5日 = 2026/1/5 = January 5, 2026, full-width digits, 两次 = 2次,
   2万 = 20000, 14:00 = 下午2点) (``number``);
d. a sentence with citation markers shares enough words with the evidence it cites
   (``unsupported``; see :data:`MIN_COVERAGE`).

:func:`mark` returns the answer with what failed made visible; :func:`all_failed` tells
whether nothing in the answer survived. :class:`Evidence` is built from the turn's
:class:`~kb_agent.results.Citation` objects with :func:`evidence_of` (duck-typed, so this
module imports neither the tools nor Qwen-Agent).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Sequence

EvidenceKind = Literal["passage", "fact", "row", "term"]
FailureKind = Literal["citation", "url", "email", "file", "locator", "number", "unsupported"]

#: Citation.kind → Evidence.kind
_KIND_OF_CITATION = {"document": "passage", "glossary": "term", "fact": "fact", "table": "row"}

#: A cited sentence is "unsupported" when fewer than this share of its content tokens (jieba
#: words + Han bigrams + Latin words, from the project's BM25 tokeniser, minus answer
#: boilerplate such as "according to"/"根据"; figures the evidence supports count as shared
#: tokens) occur in the evidence it cites. Faithful answers re-use the evidence's nouns and
#: figures even when they re-order or re-phrase them. Over the 32 judged sentences of the
#: faithful cases in tests/grounding_cases.py the lowest coverage is 0.25 ("Anything later is
#: handled in February [7]" against "Late submissions are processed in February"), then 0.27;
#: the 5 sentences about something else score 0.07-0.18 (they share only generic words such as
#: "employees"/"员工"). 0.2 sits in that gap; it leans towards not alarming, because the number,
#: link and reference checks catch most fabrications independently. The gap is narrow and the
#: sample small: re-measure with bench/grounding_bench.py when changing the tokeniser.
#: Sentences with fewer than :data:`MIN_TOKENS` content tokens ("Yes [1].") are not judged, nor
#: are sentences in a script the cited evidence does not use (a Chinese answer to an English
#: passage cannot be compared word by word).
MIN_COVERAGE = 0.2
MIN_TOKENS = 3

UNSUPPORTED_MARK = "⚠️(not supported by the sources / 未在来源中找到)"
LINK_REMOVED = "[unverified link removed / 未核实的链接已删除]"
EMAIL_REMOVED = "[unverified e-mail removed / 未核实的邮箱已删除]"
BAD_CITATION = "[?]"

#: Shown above an answer :func:`mark` changed.
NOTICE = {
    "zh": "注意：回答中有内容未能在引用来源中核实，已标出或删除，请以来源原文为准。",
    "en": "Note: parts of this answer could not be verified against the cited sources; they are "
          "marked or removed. Rely on the sources themselves.",
}
#: Both languages in one line, for places that do not know the reader's language.
NOTICE_BILINGUAL = NOTICE["en"] + " / " + NOTICE["zh"]


# -- types ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Evidence:
    """One numbered piece of evidence of this turn, as the model saw it."""

    number: int            # the citation number, [n]
    kind: EvidenceKind
    source: str            # file path ("hr/ess_training_notice.pdf") or glossary file
    locator: str           # label: "p. 3", "slide 2", "Sheet1!B2:D4", "Intro > Scope", "line 12"
    text: str

    @classmethod
    def from_citation(cls, number: int, citation: Any) -> "Evidence":
        """From a :class:`kb_agent.results.Citation` (anything with source, locator, text, kind)."""
        loc = citation.locator or {}
        label = str(loc.get("label") or "") if isinstance(loc, dict) else str(loc)
        if isinstance(loc, dict):
            extra = [str(loc[k]) for k in ("ref", "document_locator", "file") if loc.get(k)]
            label = " ".join(dict.fromkeys([label, *extra])).strip()
        return cls(number, _KIND_OF_CITATION.get(getattr(citation, "kind", "document"), "passage"),  # type: ignore[arg-type]
                   citation.source or "", label, citation.text or "")


def evidence_of(citations: Iterable[Any]) -> tuple[Evidence, ...]:
    """The turn's citations as evidence, numbered like :func:`kb_agent.results.numbered`."""
    return tuple(Evidence.from_citation(c.number if getattr(c, "number", None) is not None else i, c)
                 for i, c in enumerate(citations, 1))


@dataclass(frozen=True)
class Sentence:
    index: int
    span: tuple[int, int]          # offsets in the answer
    text: str
    cites: tuple[int, ...]         # the citation numbers it carries, in order, deduplicated
    claims: int = 0                # how many checks it gave rise to


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    text: str                      # the offending text as written ("[5]", a URL, "p. 9", "3,000", the sentence)
    sentence: int                  # index into Grounding.sentences
    span: tuple[int, int]          # offsets of ``text`` in the answer
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "sentence": self.sentence,
                "span": list(self.span), "detail": self.detail}


@dataclass(frozen=True)
class Grounding:
    checked: int                                   # claims checked (markers, links, references, figures, cited sentences)
    failures: tuple[Failure, ...] = ()
    sentences: tuple[Sentence, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.failures

    def kinds(self) -> set[str]:
        return {f.kind for f in self.failures}

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "failures": [f.to_dict() for f in self.failures]}


# -- normalisation ---------------------------------------------------------------------------
def _nfkc_map(text: str) -> tuple[str, list[int]]:
    """NFKC per character, with the original offset of every output character."""
    out: list[str] = []
    idx: list[int] = []
    for i, ch in enumerate(text):
        n = unicodedata.normalize("NFKC", ch) if ord(ch) > 127 else ch
        out.append(n)
        idx.extend([i] * len(n))
    idx.append(len(text))
    return "".join(out), idx


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}


def cn_number(s: str) -> int | None:
    """'两' → 2, '十二' → 12, '二十五' → 25, '三百零五' → 305, '一万二千' → 12000; None if not a numeral."""
    if not s:
        return None
    total, section, digit = 0, 0, None
    for ch in s:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
        elif ch == "万":
            total += (section + (digit or 0)) * 10_000
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)


def _num(s: str) -> str:
    """Canonical number: no thousands separators, no trailing decimal zeros."""
    s = s.replace(",", "")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s.lstrip("0") or "0" if "." not in s else s


_MONTHS = {m: i for i, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_MONTH_RE = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_CN_NUM = "[零〇一二两三四五六七八九十百千万]"

# Things that are not claims, or are checked elsewhere, masked before figures are read.
_MARKER = re.compile(r"\[\s*\d+(?:\s*[,，、\-–]\s*\d+)*\s*\]|【\s*\d+(?:\s*[,，、\-–]\s*\d+)*\s*】")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]{}\"'，。；！？、（）「」【】]+", re.I)
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_FILE_EXT = ("pdf|docx?|docm|xlsx?|xlsm|csv|tsv|pptx?|ppsx?|txt|md|rtf|odt|ods|odp|html?|json|ya?ml|xml|"
             "png|jpe?g|gif|bmp|tiff?|webp|svg|mp3|mp4|wav|m4a|mov|avi|zip|rar|7z|vsdx?|eml|msg")
_FILE = re.compile(r"(?<![A-Za-z0-9._/\\-])[\w\-./\\（）()\u4e00-\u9fff]*[\w\-)）]\.(?:" + _FILE_EXT
                   + r")(?![A-Za-z0-9])", re.I)
_SHEET_REF = re.compile(r"(?:(?<=!)|(?<![A-Za-z0-9]))([\w\u4e00-\u9fff][\w\u4e00-\u9fff ]{0,30}?)!\$?([A-Z]{1,3})\$?(\d{1,7})"
                        r"(?::\$?([A-Z]{1,3})\$?(\d{1,7}))?(?![A-Za-z0-9])")
_CELL_WORD = re.compile(r"(?:cells?|单元格|cell range)\s*\$?([A-Z]{1,3})\$?(\d{1,7})(?::\$?([A-Z]{1,3})\$?(\d{1,7}))?"
                        r"(?![A-Za-z0-9])", re.I)
_BARE_CELL = re.compile(r"(?<![A-Za-z0-9\-_])\$?([A-Z]{1,3})\$?(\d{1,7})(?::\$?([A-Z]{1,3})\$?(\d{1,7}))?(?![A-Za-z0-9\-_])")
_PAGE = re.compile(r"(?<![A-Za-z])(?:pp?\.\s*|pages?\s+)(\d+)(?:\s*[-–]\s*(\d+))?|第\s*(\d+|" + _CN_NUM
                   + r"+)\s*页", re.I)
_SLIDE = re.compile(r"(?<![A-Za-z])slides?\s*#?\s*(\d+)(?:\s*[-–]\s*(\d+))?|第\s*(\d+|" + _CN_NUM
                    + r"+)\s*(?:张幻灯片|张|页幻灯片)|幻灯片\s*(?:第\s*)?(\d+)", re.I)
_ROW = re.compile(r"第\s*(\d+|" + _CN_NUM + r"+)\s*行|(?<![A-Za-z])rows?\s+(\d+)(?![0-9:])", re.I)
_ORDINAL = re.compile(r"\s*(?:[-*+•·]\s+|\d{1,2}[.)]\s+|\d{1,2}、\s*|[(（]\d{1,2}[)）]\s*|#{1,6}\s+|>\s*)+")

# Figures, in priority order: (regex, kind). Each match is masked before the next regex runs.
_FIGURES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<![0-9])(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?(?![0-9])"), "ymd"),
    (re.compile(r"(?<![0-9])(\d{4})\s*年\s*(\d{1,2})\s*月(?!\s*\d)"), "ym"),
    (re.compile(r"(?<![0-9])(\d{4})-(\d{1,2})(?![0-9\-])"), "ym"),
    (re.compile(r"(?<![0-9])(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]"), "md"),
    (re.compile(r"(?<![A-Za-z])" + _MONTH_RE + r"\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?(?![0-9])", re.I), "mdy_en"),
    (re.compile(r"(?<![0-9])(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH_RE + r"(?:,?\s+(\d{4}))?(?![0-9])", re.I), "dmy_en"),
    (re.compile(r"(?<![0-9])(\d{1,2}):(\d{2})(?::\d{2})?\s*(a\.?m\.?|p\.?m\.?)?(?![0-9])", re.I), "time"),
    (re.compile(r"(?<![0-9])(\d{1,2})\s*(a\.?m\.?|p\.?m\.?)(?![A-Za-z])", re.I), "time12"),
    (re.compile(r"(上午|早上|中午|下午|晚上)?\s*(\d{1,2}|" + _CN_NUM + r"{1,3})\s*[点時时](?:\s*(\d{1,2})\s*分|(半))?"), "time_zh"),
    (re.compile(r"(?<![A-Za-z0-9])[0-9a-f]{8,}(?![A-Za-z0-9])", re.I), "hex"),
    (re.compile(r"(?<![A-Za-z0-9])v(\d+(?:\.\d+)+|\d+)(?![A-Za-z0-9])", re.I), "version"),
    (re.compile(r"(?<![A-Za-z0-9.])(\d+(?:\.\d+){2,})(?!\.?\d)"), "version"),
    (re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,8}(?:[-_]?\d+)(?:[-_.]?[A-Za-z0-9]+)*(?![A-Za-z0-9])"), "code"),
    (re.compile(r"(?<![A-Za-z0-9.,])(?:\+?\d{1,4}(?:[ -]\d{2,8})+|\(\d{2,4}\)\s?\d{3,4}[ -]?\d{4}|\d{7,})(?![0-9])"), "phone"),
    (re.compile(r"(?<![0-9.,])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s*([万千亿kKmM](?![A-Za-z]))?"), "number"),
]
_CN_COUNTED = re.compile("(" + _CN_NUM + r"+)\s*(?=[次个天日周月年人名项家条份位倍层号届期轮场款台张页元块种步点岁小分秒门节课])")
_CN_ANY = re.compile(_CN_NUM + "+")
_EN_WORDS = {"once": 1, "twice": 2, "thrice": 3, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
             "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
             "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}
_EN_WORD_RE = re.compile(r"\b(" + "|".join(_EN_WORDS) + r")\b", re.I)
_MULT = {"万": 10_000, "千": 1000, "k": 1000, "K": 1000, "亿": 100_000_000, "m": 1_000_000, "M": 1_000_000}


def _month(s: str) -> int:
    return _MONTHS[s.lower()[:3]]


def _hm(h: int, m: int, ampm: str | None) -> str:
    ampm = (ampm or "").lower().replace(".", "")
    if ampm == "pm" and h < 12:
        h += 12
    elif ampm == "am" and h == 12:
        h = 0
    return f"{h}:{m:02d}"


def _figure(kind: str, m: re.Match[str]) -> set[str] | None:
    """The canonical forms of one figure (any of them matching counts); None: not a figure."""
    g = m.groups()
    try:
        if kind == "ymd":
            y, mo, d = int(g[0]), int(g[1]), int(g[2])
            return {f"{y}-{mo:02d}-{d:02d}"} if 1 <= mo <= 12 and 1 <= d <= 31 else None
        if kind == "ym":
            y, mo = int(g[0]), int(g[1])
            return {f"{y}-{mo:02d}"} if 1 <= mo <= 12 else None
        if kind == "md":
            return {f"--{int(g[0]):02d}-{int(g[1]):02d}"}
        if kind in ("mdy_en", "dmy_en"):
            mo, d = (_month(g[0]), int(g[1])) if kind == "mdy_en" else (_month(g[1]), int(g[0]))
            return {f"{int(g[2])}-{mo:02d}-{d:02d}"} if g[2] else {f"--{mo:02d}-{d:02d}"}
        if kind == "time":
            return {_hm(int(g[0]), int(g[1]), g[2])}
        if kind == "time12":
            return {_hm(int(g[0]), 0, g[1])}
        if kind == "time_zh":
            h = int(g[1]) if g[1].isdigit() else cn_number(g[1])
            if h is None or h > 24:
                return None
            mins = int(g[2]) if g[2] else (30 if g[3] else 0)
            if g[0] in ("下午", "晚上") and h < 12:
                h += 12
            return {f"{h}:{mins:02d}"}
        if kind == "hex":
            s = m.group(0).lower()
            if not (re.search(r"[0-9]", s) and re.search(r"[a-f]", s)):
                return None                   # all digits: a number; all letters: a word
            return {"#" + s}
        if kind == "version":
            return {_num(g[0]) if "." not in g[0] else g[0]}
        if kind == "code":
            return {"#" + re.sub(r"[-_ .]", "", m.group(0).lower())}
        if kind == "phone":
            digits = re.sub(r"\D", "", m.group(0))
            return {"#" + digits} if len(digits) >= 7 else None   # "1-3", "3 5": not a phone number
        if kind == "number":
            whole = g[0].replace(",", "")
            value = whole + ("." + g[1] if g[1] else "")
            out = {_num(value)}
            if g[2]:
                try:
                    out = {_num(f"{float(value) * _MULT[g[2]]:.4f}")}
                except (KeyError, ValueError):
                    pass
            return out
    except (ValueError, KeyError):
        return None
    return None


@dataclass(frozen=True)
class _Claim:
    kind: str                # figure kind, or "url", "email", "file", "page", "slide", "cell", "sheetref"
    text: str
    span: tuple[int, int]    # in the answer
    values: frozenset[str]
    extra: tuple = ()


def _mask(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


#: Counting units: "三次" and "两次" are different claims even when "第三个" is in the evidence.
#: A figure followed by one is also stored as "value@unit" (English units map to Chinese).
_UNIT = re.compile(r"\s*(小时|分钟|次|天|人|名|元|块|周|项|家|条|份|位|倍|场|门|节|课|岁|"
                   r"times?\b|days?\b|hours?\b|people\b|persons?\b|yuan\b|rmb\b|cny\b|sessions?\b)", re.I)
_UNIT_EN = {"time": "次", "times": "次", "session": "次", "sessions": "次", "day": "天", "days": "天",
            "hour": "小时", "hours": "小时", "people": "人", "person": "人", "persons": "人",
            "yuan": "元", "rmb": "元", "cny": "元", "块": "元"}


def _unit_after(text: str, end: int, start: int) -> str | None:
    if start > 0 and text[start - 1] == "第":
        return None                            # an ordinal: 第三次
    m = _UNIT.match(text, end)
    if not m:
        return None
    u = m.group(1).lower()
    return _UNIT_EN.get(u, u)


def _figures(text: str, *, evidence: bool = False) -> list[tuple[str, int, int, set[str]]]:
    """(kind, start, end, canonical forms) of every figure in ``text`` (already NFKC). Counted
    figures also carry "value@unit" (see :data:`_UNIT`)."""
    out: list[tuple[str, int, int, set[str]]] = []
    orig = text
    for rx, kind in _FIGURES:
        for m in rx.finditer(text):
            if text[m.start():m.end()].strip() == "":
                continue
            vals = _figure(kind, m)
            if vals is None:
                continue
            if kind == "number":
                unit = _unit_after(orig, m.end(), m.start())
                if unit:
                    vals = vals | {f"{v}@{unit}" for v in vals}
            out.append((kind, m.start(), m.end(), vals))
            text = _mask(text, m.start(), m.end())
    rx = _CN_ANY if evidence else _CN_COUNTED
    for m in rx.finditer(text):
        v = cn_number(m.group(1) if m.groups() else m.group(0))
        if v is None or (not evidence and v < 2):
            continue            # "一个流程", "一次性": the answer's "一" is rarely a figure
        vals = {str(v)}
        unit = _unit_after(orig, m.end(), m.start())
        if unit:
            vals.add(f"{v}@{unit}")
        out.append(("cn", m.start(), m.end(), vals))
    if evidence:
        for m in _EN_WORD_RE.finditer(text):
            v = _EN_WORDS[m.group(1).lower()]
            vals = {str(v)}
            if m.group(1).lower() in ("once", "twice", "thrice"):
                vals.add(f"{v}@次")
            else:
                unit = _unit_after(orig, m.end(), m.start())
                if unit:
                    vals.add(f"{v}@{unit}")
            out.append(("en", m.start(), m.end(), vals))
    return out


# -- evidence ------------------------------------------------------------------------------
@dataclass
class _Facts:
    """What one piece of evidence can support."""

    ev: Evidence
    hay: str                                 # NFKC, lower-cased: text, source, locator
    compact: str                             # hay without separators (codes, phones)
    figures: set[str]
    pages: set[int]
    slides: set[int]
    sheets: list[tuple[str, tuple[int, int, int, int] | None]]
    tokens: set[str]
    scripts: set[str]
    units: set[str] = field(default_factory=set)     # counting units the evidence uses ("次")


def _col(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _rect(c1: str, r1: str, c2: str | None, r2: str | None) -> tuple[int, int, int, int]:
    a, b = _col(c1), int(r1)
    c, d = (_col(c2), int(r2)) if c2 and r2 else (a, b)
    return min(a, c), min(b, d), max(a, c), max(b, d)


def _scripts(text: str) -> set[str]:
    """The scripts a text is written in: a Han character weighs as much as two Latin letters, and
    a script counts when it has at least a fifth of the weight (URLs and e-mail addresses aside,
    so a Chinese notice with a sign-up address is Chinese; a bilingual glossary entry is both)."""
    text = _EMAIL.sub(" ", _URL.sub(" ", text))
    han = 2 * len(re.findall(r"[\u3400-\u9fff]", text))
    latin = len(re.findall(r"[A-Za-z]", text))
    total = han + latin
    return ({"zh"} if han >= 4 and han >= 0.2 * total else set()) | ({"en"} if latin >= 4 and latin >= 0.2 * total else set())


def _dominant(text: str) -> str:
    han = len(re.findall(r"[\u3400-\u9fff]", text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return "zh" if han * 2 >= latin and han else "en"


def _compact(s: str) -> str:
    return re.sub(r"[\s\-_().()/:]", "", s)


def _analyse(ev: Evidence, tokenize: Callable[[str], list[str]]) -> _Facts:
    raw = f"{ev.text}\n{ev.locator}\n{ev.source}"
    norm = unicodedata.normalize("NFKC", raw)
    figures: set[str] = set()
    for kind, _s, _e, vals in _figures(norm, evidence=True):
        figures |= vals
        for v in vals:
            if kind == "ymd":          # a full date also supports its year, month and day
                y, mo, d = v.split("-")
                figures |= {f"{y}-{mo}", f"--{mo}-{d}", y, str(int(mo)), str(int(d))}
            elif kind in ("ym",):
                y, mo = v.split("-")
                figures |= {y, str(int(mo))}
            elif kind in ("time", "time12", "time_zh"):
                h, mi = v.split(":")
                figures.add(h)
                if int(h) > 12:
                    figures.add(f"{int(h) - 12}:{mi}")
                    figures.add(str(int(h) - 12))
    units = {v.split("@", 1)[1] for v in figures if "@" in v}
    pages = {int(n) for m in _PAGE.finditer(norm) for n in _page_numbers(m)}
    slides = {int(n) for m in _SLIDE.finditer(norm) for n in _page_numbers(m)}
    sheets: list[tuple[str, tuple[int, int, int, int] | None]] = []
    loc = unicodedata.normalize("NFKC", ev.locator)
    for m in _SHEET_REF.finditer(loc):
        sheets.append((m.group(1).strip().lower(), _rect(m.group(2), m.group(3), m.group(4), m.group(5))))
    if ev.kind == "row" and not sheets and loc:
        sheets.append((loc.split("!")[0].strip().lower(), None))
    hay = norm.lower().replace("\\", "/")
    base = re.sub(r"[_\-./]", " ", ev.source)
    tokens = set(tokenize(f"{ev.text}\n{ev.locator}\n{base}"))
    return _Facts(ev, hay, _compact(hay), figures, pages, slides, sheets, tokens,
                  _scripts(ev.text + " " + ev.locator), units)


def _page_numbers(m: re.Match[str]) -> list[int]:
    nums = [g for g in m.groups() if g]
    vals = [int(n) if n.isdigit() else cn_number(n) for n in nums]
    vals = [v for v in vals if v is not None]
    if len(vals) == 2 and vals[0] <= vals[1] <= vals[0] + 50:
        return list(range(vals[0], vals[1] + 1))
    return vals[:1]


# -- sentences -------------------------------------------------------------------------------
_END = re.compile(r"[。！？；]+|[!?]+(?=\s|$)|…{1,2}|\.(?=\s|$)")
_TRAIL = re.compile(r"(?:[”\"’'）)」』]*\s*(?:\[\s*\d+(?:\s*[,，、\-–]\s*\d+)*\s*\]|【\s*\d+(?:\s*[,，、\-–]\s*\d+)*\s*】))+"
                    r"[。.！!？?；;]?|[”\"’'）)」』]+")
_ABBREV = frozenset("p pp e.g i.e etc vs no nos fig figs approx mr mrs ms dr st inc ltd co cf ca al sec ch vol ed".split())


def _marker_numbers(marker: str) -> list[int]:
    body = marker.strip("[]【】 ")
    out: list[int] = []
    for part in re.split(r"\s*[,，、]\s*", body):
        if re.fullmatch(r"\d+\s*[-–]\s*\d+", part):
            a, b = (int(x) for x in re.split(r"\s*[-–]\s*", part))
            out.extend(range(a, b + 1) if 0 < b - a <= 20 else [a, b])
        elif part.strip().isdigit():
            out.append(int(part))
    return out


def _abbreviation(text: str, start: int, dot: int) -> bool:
    word = re.search(r"([A-Za-z.]+)$", text[start:dot])
    return bool(word) and (word.group(1).lower().rstrip(".") in _ABBREV or len(word.group(1)) == 1)


def split_sentences(answer: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``answer``; bullets and list ordinals are left out of the
    span, citation markers after a sentence's end are kept in it."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in answer.splitlines(keepends=True):
        start, end = pos, pos + len(line.rstrip("\r\n"))
        pos += len(line)
        m = _ORDINAL.match(answer, start, end)
        if m:
            start = m.end()
        i = start
        for m in _END.finditer(answer, start, end):
            if m.start() < i or (m.group(0) == "." and _abbreviation(answer, i, m.start())):
                continue                          # "p. 3", "e.g. the", "J. Smith": not an end
            stop = m.end()
            t = _TRAIL.match(answer, stop, end)
            if t:
                stop = t.end()
            spans.append((i, stop))
            i = stop
        if i < end:
            spans.append((i, end))
    out = []
    for s, e in spans:
        while s < e and answer[s].isspace():
            s += 1
        while e > s and answer[e - 1].isspace():
            e -= 1
        if s >= e:
            continue
        body = _MARKER.sub("", answer[s:e])
        if not re.search(r"[\w\u4e00-\u9fff]", body):
            if out and _MARKER.search(answer[s:e]):
                out[-1] = (out[-1][0], e)      # markers on their own: the previous sentence's
            continue
        out.append((s, e))
    return out


# -- tokenizer -------------------------------------------------------------------------------

#: Answer boilerplate that says nothing about the subject.
_META = frozenset(
    "according source sources document documents file files states stated state says said mention "
    "mentioned mentions notice note see also shown show shows listed list page pages slide section "
    "based per will has have had there their they your should must need needs not only more than "
    "根据 来源 文件 文档 资料 规定 显示 提到 指出 所述 如下 以下 以及 其中 需要 表示 说明 "
    "记录 写明 明确 相关 内容 方面 一般 通常 情况 所示 据 按照 见".split())


def _tokenizer() -> Callable[[str], list[str]]:
    """The shared tokenizer without company terms (one jieba dictionary for the process)."""
    from kb_agent.text import tokenizer_for

    return tokenizer_for().tokenize


def _content_tokens(text: str, tokenize: Callable[[str], list[str]]) -> set[str]:
    return {t for t in tokenize(text) if t not in _META and not (len(t) == 1 and t.isascii())}


# -- the check ---------------------------------------------------------------------------------
def _url_key(u: str) -> str:
    u = u.lower().rstrip("/.,;:!?")
    u = re.sub(r"^https?://", "", u)
    return re.sub(r"^www\.", "", u).rstrip("/")


def check(answer: str, evidence: Sequence[Evidence], *, question: str = "",
          tokenize: Callable[[str], list[str]] | None = None) -> Grounding:
    """Checks ``answer`` against the turn's ``evidence`` (see the module docstring).

    ``question``: what the user asked. Repeating it is not inventing, so a figure, code or file
    name from it may appear in a sentence that cites nothing; it cannot be cited as [n].
    ``tokenize`` defaults to the BM25 tokeniser without company terms; pass the knowledge base's
    own (with the glossary as user words) to keep terms such as 客户经理 whole."""
    tok = tokenize or _tokenizer()
    facts = {e.number: _analyse(e, tok) for e in evidence}
    everything = list(facts.values())
    if question:
        everything.append(_analyse(Evidence(0, "passage", "", "", question), tok))
    known_files = {f for fa in everything for f in _known_files(fa)}
    failures: list[Failure] = []
    sentences: list[Sentence] = []
    checked = 0

    for si, (s, e) in enumerate(split_sentences(answer)):
        raw = answer[s:e]
        n_claims = 0
        # a. citation markers
        cites: list[int] = []
        valid: list[int] = []
        for m in _MARKER.finditer(raw):
            nums = _marker_numbers(m.group(0))
            for n in nums:
                n_claims += 1
                if n not in cites:
                    cites.append(n)
                if n in facts:
                    if n not in valid:
                        valid.append(n)
            bad = [n for n in nums if n not in facts]
            if bad:
                failures.append(Failure("citation", m.group(0), si, (s + m.start(), s + m.end()),
                                        f"no evidence numbered {', '.join(map(str, bad))} in this turn "
                                        f"(evidence: {', '.join(map(str, sorted(facts))) or 'none'})"))
        pool = [facts[n] for n in valid] or everything
        norm, idx = _nfkc_map(raw)
        work = _MARKER.sub(lambda m: " " * len(m.group(0)), norm)

        def span_of(a: int, b: int) -> tuple[int, int]:
            return s + idx[a], s + idx[b - 1] + 1 if b > a else s + idx[a]

        def fail(kind: FailureKind, a: int, b: int, detail: str) -> None:
            while b > a + 1 and work[b - 1].isspace():
                b -= 1
            sp = span_of(a, b)
            failures.append(Failure(kind, answer[sp[0]:sp[1]], si, sp, detail))

        # b. links and references (against all evidence, except pages/cells: the cited evidence)
        for rx, kind in ((_URL, "url"), (_EMAIL, "email")):
            for m in rx.finditer(work):
                text = m.group(0).rstrip(".,;:!?")
                a, b = m.start(), m.start() + len(text)
                n_claims += 1
                key = _url_key(text) if kind == "url" else text.lower()
                if not any(key in fa.hay for fa in everything):
                    fail(kind, a, b, f"{'URL' if kind == 'url' else 'e-mail address'} not in the evidence")
                work = _mask(work, m.start(), m.end())
        for m in _FILE.finditer(work):
            text = m.group(0).lower().replace("\\", "/").lstrip("(（")
            n_claims += 1
            if not (any(text in fa.hay for fa in everything)
                    or any(text.endswith(k) and (len(text) == len(k) or not _name_char(text[-len(k) - 1]))
                           for k in known_files)):
                fail("file", m.start(), m.end(), "file name not in the evidence")
            work = _mask(work, m.start(), m.end())
        for rx, attr, what in ((_PAGE, "pages", "page"), (_SLIDE, "slides", "slide")):
            for m in rx.finditer(work):
                nums = _page_numbers(m)
                if not nums:
                    continue
                n_claims += 1
                have = set().union(*(getattr(fa, attr) for fa in pool))
                if not set(nums) <= have:
                    where = (f"cited evidence [{', '.join(map(str, valid))}] is at "
                             f"{', '.join(fa.ev.locator or '(no locator)' for fa in pool)}") if valid else \
                        f"no evidence is from {what} {nums[0]}"
                    fail("locator", m.start(), m.end(), f"{what} {', '.join(map(str, nums))}: {where}")
                work = _mask(work, m.start(), m.end())
        has_sheets = any(fa.sheets for fa in everything)
        for m in _ROW.finditer(work):
            if not has_sheets:
                continue                             # "第3行" of a text passage: an ordinary figure
            n = [v for v in _page_numbers(m)]
            if not n:
                continue
            n_claims += 1
            rows_ok = any(r is None or r[1] <= n[0] <= r[3] for fa in pool for _name, r in fa.sheets) \
                or any(m.group(0).lower() in fa.hay for fa in pool)
            if not rows_ok:
                fail("locator", m.start(), m.end(), f"row {n[0]} is not among the cited rows")
            work = _mask(work, m.start(), m.end())
        for rx in (_SHEET_REF, _CELL_WORD, _BARE_CELL):
            for m in rx.finditer(work):
                if rx is _SHEET_REF:
                    sheet, cells = m.group(1).strip().lower(), m.groups()[1:]
                else:
                    sheet, cells = None, m.groups()
                    if rx is _BARE_CELL and not has_sheets:
                        continue                     # "A4", "H200": a code, checked as a figure
                rect = _rect(*cells)
                n_claims += 1
                a0 = m.start(1) if rx is _CELL_WORD else m.start()      # "单元格 B7": the failure is "B7"
                if not _cell_ok(sheet, rect, work[a0:m.end()], pool, everything):
                    fail("locator", a0, m.end(), "cell reference outside the cited rows")
                work = _mask(work, m.start(), m.end())
        # c. figures
        figures_ok = 0
        for kind, a, b, vals in _figures(work):
            n_claims += 1
            if any(_supports(fa, vals) for fa in pool):
                figures_ok += 1
            else:
                fail("number", a, b, ("not in the cited evidence" if valid else "not in any evidence")
                     + f" ({', '.join(sorted(v.lstrip('#') for v in vals))})")
            work = _mask(work, a, b)
        # d. cited sentence shares content with its evidence
        if valid:
            judged = _unsupported(work, [facts[n] for n in valid], tok, figures_ok)
            if judged is not None:
                n_claims += 1
                if judged:
                    failures.append(Failure("unsupported", raw, si, (s, e),
                                            f"shares too few words with [{', '.join(map(str, valid))}]"))
        checked += n_claims
        sentences.append(Sentence(si, (s, e), raw, tuple(cites), n_claims))
    return Grounding(checked, tuple(failures), tuple(sentences))


def _name_char(c: str) -> bool:
    """Part of an ASCII file name: "x" in "xoffice.xlsx" is, "（" or "请" in "请见office.xlsx" is not."""
    return c.isascii() and (c.isalnum() or c in "_-.")


def _known_files(fa: _Facts) -> set[str]:
    out = set()
    src = fa.ev.source.lower().replace("\\", "/")
    if src:
        out.add(src.rsplit("/", 1)[-1])
    for m in _FILE.finditer(unicodedata.normalize("NFKC", fa.ev.text).lower()):
        out.add(m.group(0).replace("\\", "/").rsplit("/", 1)[-1])
    return {f for f in out if "." in f}


def _cell_ok(sheet: str | None, rect: tuple[int, int, int, int], text: str,
             pool: list[_Facts], everything: list[_Facts]) -> bool:
    t = text.lower()
    if any(t in fa.hay for fa in pool):
        return True
    for fa in pool:
        for name, r in fa.sheets:
            if sheet is not None and sheet != name and not sheet.endswith(name):
                continue
            if r is None or (r[0] <= rect[0] and r[1] <= rect[1] and rect[2] <= r[2] and rect[3] <= r[3]):
                return True
    return False


def _supports(fa: _Facts, vals: set[str]) -> bool:
    counted = [v for v in vals if "@" in v]
    if counted:
        # "三次": when the evidence counts in 次 too, the count must match, not just the digit
        v = counted[0]
        if v.split("@", 1)[1] in fa.units:
            return v in fa.figures
        vals = {x for x in vals if "@" not in x}
    for v in vals:
        if v in fa.figures:
            return True
        if v.startswith("#") and len(v) > 3 and v[1:] in fa.compact:
            return True        # codes and phone numbers written with other separators
    return False


def _unsupported(text: str, cited: list[_Facts], tok: Callable[[str], list[str]],
                 figures_ok: int = 0) -> bool | None:
    """True/False: too little / enough shared content; None: not judged (too short, other script).

    ``text`` has its links, references and figures masked; the figures the evidence supports
    count as shared content words ("下午两点到四点 [1]" is all figures)."""
    scripts = set().union(*(fa.scripts for fa in cited))
    clean = _URL.sub(" ", text)
    words = _content_tokens(clean, tok)
    if len(words) + figures_ok < MIN_TOKENS:
        return None
    if scripts and re.search(r"[A-Za-z\u3400-\u9fff]", clean) and _dominant(clean) not in scripts:
        return None
    have = set().union(*(fa.tokens for fa in cited))
    coverage = (len(words & have) + figures_ok) / (len(words) + figures_ok)
    return coverage < MIN_COVERAGE


def coverage(sentence: str, evidence: Sequence[Evidence], *,
             tokenize: Callable[[str], list[str]] | None = None) -> float:
    """The share of ``sentence``'s content tokens found in ``evidence`` (for tuning MIN_COVERAGE)."""
    tok = tokenize or _tokenizer()
    words = _content_tokens(_URL.sub(" ", _MARKER.sub(" ", unicodedata.normalize("NFKC", sentence))), tok)
    if not words:
        return 1.0
    have = set().union(*(_analyse(e, tok).tokens for e in evidence)) if evidence else set()
    return len(words & have) / len(words)


# -- presenting ----------------------------------------------------------------------------------
def all_failed(grounding: Grounding) -> bool:
    """Every sentence that made a checkable claim has a failure (and there was at least one)."""
    bearing = [s for s in grounding.sentences if s.claims]
    failed = {f.sentence for f in grounding.failures}
    return bool(bearing) and all(s.index in failed for s in bearing)


def mark(answer: str, grounding: Grounding) -> str:
    """``answer`` with its failures visible: unverified URLs and e-mail addresses replaced by a
    marker (a markdown link keeps its label), out-of-range citation markers by [?], and each
    sentence with a wrong file name, reference, figure or unsupported content followed by
    :data:`UNSUPPORTED_MARK`. Unchanged when the grounding is ok."""
    edits: list[tuple[int, int, str]] = []
    flagged: set[int] = set()
    for f in grounding.failures:
        a, b = f.span
        if f.kind == "url":
            link = re.search(r"\[([^\]\n]*)\]\(\s*$", answer[max(0, a - 200):a])
            if link and answer[b:b + 1] == ")":
                edits.append((a - (len(link.group(0))), b + 1, f"{link.group(1)} {LINK_REMOVED}".strip()))
            else:
                edits.append((a, b, LINK_REMOVED))
        elif f.kind == "email":
            edits.append((a, b, EMAIL_REMOVED))
        elif f.kind == "citation":
            edits.append((a, b, BAD_CITATION))
        else:
            flagged.add(f.sentence)
    for s in grounding.sentences:
        if s.index in flagged:
            end = s.span[1]
            if answer[end - 1:end] in ("。", "！", "？", "；", ".", "!", "?", ";"):
                end -= 1                          # "…三次 [1] ⚠️(…)。"
            edits.append((end, end, " " + UNSUPPORTED_MARK))
    out, pos = [], 0
    for a, b, new in sorted(edits, key=lambda x: (x[0], x[1])):
        if a < pos:
            continue                              # overlaps an earlier edit
        out.append(answer[pos:a])
        out.append(new)
        pos = b
    out.append(answer[pos:])
    return "".join(out)

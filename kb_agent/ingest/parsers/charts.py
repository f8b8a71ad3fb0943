"""Charts as text, for every Office format: one DrawingML chart part (``c:chartSpace``, as in
ppt/charts/, word/charts/, xl/charts/) or an Office 2016 chartEx part (waterfall, treemap,
funnel, ...) becomes its title, type, axis titles and one line per series pairing each
category with its value::

    Chart (column): Quarterly revenue
    Axes: Quarter; CNY m
    Revenue 2025: Q1 = 12.5; Q2 = 14; Q3 = 15.2

Values come from the caches the chart part keeps (what a reader saw when the file was saved);
a series without a cache (openpyxl writes none) asks ``resolve`` for the cells it references.

Bounded whatever the part says: at most ``MAX_POINTS`` values and ``MAX_SERIES`` series per
chart are kept (the rest is counted and said), caches are read sparsely (a ``ptCount`` of a
million costs nothing), and a long series is written ``POINTS_PER_LINE`` values a line, each
line naming its series, so that every chunk cut from it still says what it is.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Callable, Iterator

from kb_agent.errors import ParseError
from kb_agent.ingest.parsers.ooxml import xml_root

C_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"
CX_NS = "http://schemas.microsoft.com/office/drawing/2014/chartex"
C = "{%s}" % C_NS
CX = "{%s}" % CX_NS
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"

#: Values per chart turned into text; the rest is counted.
MAX_POINTS = 2000
#: Series per chart turned into text; the rest is counted.
MAX_SERIES = 200
#: Values on one line of a series (a continuation line repeats the series name).
POINTS_PER_LINE = 50

#: ``resolve(formula, max_points)`` -> (the first ``max_points`` points of the referenced
#: cells, each point its values (several for multi-level categories), the number of points
#: in the range), or None when the formula cannot be read.
Resolver = Callable[[str, int], "tuple[list[list[str]], int] | None"]

#: Empty charts of each kind, put in place of a broken chart part (see ooxml.stub_broken_parts)
#: so that the library opening the package accepts it.
STUBS = {
    "chart": f'<c:chartSpace xmlns:c="{C_NS}"><c:chart><c:plotArea><c:layout/><c:barChart>'
             '<c:barDir val="col"/><c:grouping val="clustered"/></c:barChart></c:plotArea></c:chart>'
             '</c:chartSpace>'.encode(),
    "chartEx": f'<cx:chartSpace xmlns:cx="{CX_NS}"><cx:chart><cx:plotArea><cx:plotAreaRegion/>'
               '</cx:plotArea></cx:chart></cx:chartSpace>'.encode(),
}

_KIND = re.compile(r"(?:3D)?Chart$")


@dataclass
class Series:
    name: str
    points: list[tuple[str, str]] = field(default_factory=list)  # (category, value); category may be ""
    #: Values left out (over the chart's ``MAX_POINTS``).
    more: int = 0

    def lines(self) -> list[str]:
        if not self.points:
            return [self.name + (f": … ({self.more} values not shown)" if self.more else "")]
        out = []
        for k in range(0, len(self.points), POINTS_PER_LINE):
            values = "; ".join(f"{c} = {v}" if c else v for c, v in self.points[k:k + POINTS_PER_LINE])
            out.append(f"{self.name}{' (cont.)' if k else ''}: {values}")
        if self.more:
            out[-1] += f"; … ({self.more} more values)"
        return out


@dataclass
class Chart:
    title: str = ""
    kinds: list[str] = field(default_factory=list)
    axes: list[str] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    #: Series left out (over ``MAX_SERIES``).
    more_series: int = 0
    #: The cell formulas the chart reads (for a spreadsheet locator).
    refs: list[str] = field(default_factory=list)

    def text(self) -> str:
        """'' for a chart with neither a title nor a series (nothing a reader sees)."""
        if not (self.title or self.series):
            return ""
        head = "Chart" + (f" ({', '.join(dict.fromkeys(self.kinds))})" if self.kinds else "")
        lines = [f"{head}: {self.title}" if self.title else head]
        if self.axes:
            lines.append("Axes: " + "; ".join(self.axes))
        for s in self.series:
            lines += s.lines()
        if self.more_series:
            lines.append(f"… ({self.more_series} more series)")
        return "\n".join(lines)


def chart_text(blob, resolve: Resolver | None = None) -> str:
    return parse_chart(blob, resolve).text()


def parse_chart(blob, resolve: Resolver | None = None) -> Chart:
    """``blob``: the chart part's bytes (or its parsed root element). ParseError (``reason``
    says why, e.g. "chart not read (XMLSyntaxError)") when it is no readable chart."""
    try:
        root = xml_root(blob, "chart") if isinstance(blob, (bytes, bytearray)) else blob
    except ParseError as exc:
        raise ParseError("chart", f"chart not read ({exc.reason})") from exc
    if root.tag == f"{C}chartSpace":
        return _Reader(resolve).chart(root)
    if root.tag == f"{CX}chartSpace":
        return _Reader(resolve).chart_ex(root)
    raise ParseError("chart", f"chart not read (not a chart part: {str(root.tag).rsplit('}', 1)[-1][:40]})")


def related_chart_text(part, broken: dict[str, tuple[str, str]]) -> str:
    """The text of a chart a document relates to: ``part`` is the related package part (None
    when the relationship leads nowhere), ``broken`` the parts replaced by stubs when the
    package was opened (name -> (kind, reason)). ParseError ("chart not read (...)") otherwise."""
    if part is None:
        raise ParseError("chart", "chart not read (its part is missing)")
    stubbed = broken.get(str(part.partname).lstrip("/"))
    if stubbed:
        raise ParseError("chart", f"chart not read ({stubbed[1]})")
    return chart_text(part.blob)


def chart_rids(element) -> list[str]:
    """Relationship ids of the charts drawn inside an XML element (a slide, a paragraph, a
    spreadsheet drawing), in document order; a chartEx's fallback picture is not a chart."""
    out = []
    for el in element.iter(f"{C}chart", f"{CX}chart"):
        rid = el.get(R_ID)
        if rid and not any(a.tag == MC_FALLBACK for a in el.iterancestors()):
            out.append(rid)
    return out


def _rich_text(el) -> str:
    if el is None:
        return ""
    paras = ["".join(t.text or "" for t in p.iter(f"{A}t")) for p in el.iter(f"{A}p")]
    text = " ".join(p.strip() for p in paras if p.strip())
    if not text:
        text = " ".join(v.text.strip() for v in el.iter(f"{C}v", f"{CX}v") if v.text and v.text.strip())
    return " ".join(text.split())[:500]


class _Reader:
    """One chart's reading, with its budget of values."""

    def __init__(self, resolve: Resolver | None):
        self.resolve = resolve
        self.left = MAX_POINTS
        self.out = Chart()
        self._unread = 0  # points of the last resolved range beyond those read

    # --- DrawingML charts (c:) ---------------------------------------------------------------

    def chart(self, root) -> Chart:
        out = self.out
        chart = root.find(f"{C}chart")
        plot = chart.find(f"{C}plotArea") if chart is not None else None
        if chart is None:
            return out
        out.title = _rich_text(chart.find(f"{C}title"))
        for child in (plot if plot is not None else ()):
            tag = child.tag.removeprefix(C) if isinstance(child.tag, str) else ""
            if tag.endswith("Ax"):
                title = _rich_text(child.find(f"{C}title"))
                if title:
                    out.axes.append(title)
            elif tag.endswith("Chart"):
                out.kinds.append(_kind(tag, child))
                for ser in child.iter(f"{C}ser"):
                    if len(out.series) < MAX_SERIES:
                        out.series.append(self._series(ser, len(out.series) + 1))
                    else:
                        out.more_series += 1
        return out

    def _series(self, ser, number: int) -> Series:
        name = ""
        tx = ser.find(f"{C}tx")
        if tx is not None:
            name = " ".join(v for _, v in self._points(tx, 10, flat=True)) or _rich_text(tx)
        val = ser.find(f"{C}val")
        val = val if val is not None else ser.find(f"{C}yVal")
        vals: dict[int, str] = {}
        more = 0
        for i, v in self._points(val, self.left + 1):
            if not v:
                continue
            if self.left > 0:
                vals[i] = v
                self.left -= 1
            else:
                more += 1
        more += self._unread
        cat = ser.find(f"{C}cat")
        cat = cat if cat is not None else ser.find(f"{C}xVal")
        cats = dict(self._points(cat, max(vals, default=-1) + 1, wanted=vals.keys())) if vals else {}
        out = Series(" ".join(name.split())[:200] or f"Series {number}", more=more)
        out.points = [(cats.get(i, ""), v) for i, v in sorted(vals.items())]
        return out

    def _points(self, el, limit: int, flat: bool = False, wanted=None) -> Iterator[tuple[int, str]]:
        """(index, value) of a data source element (c:tx, c:cat, c:val, ...); a value read
        from cells is one of the first ``limit`` points. ``self._unread`` counts the points a
        resolved range had beyond them. ``wanted``: only these indexes are needed."""
        self._unread = 0
        if el is None:
            return
        for ref in el:
            tag = ref.tag.removeprefix(C) if isinstance(ref.tag, str) else ""
            if tag == "v":
                yield 0, " ".join((ref.text or "").split())
                return
            if tag in ("numLit", "strLit"):
                yield from _cache(ref, wanted)
                return
            if tag in ("numRef", "strRef", "multiLvlStrRef"):
                f = (ref.findtext(f"{C}f") or "").strip()
                if f:
                    self.out.refs.append(f)
                cache = ref.find(f"{C}{tag[:-3]}Cache")
                if cache is not None and cache.find(f"{C}ptCount") is not None:
                    yield from (_levels(cache, wanted) if tag == "multiLvlStrRef" else _cache(cache, wanted))
                else:
                    yield from self._resolved(f, limit, flat)
                return

    def _resolved(self, formula: str, limit: int, flat: bool) -> Iterator[tuple[int, str]]:
        got = self.resolve(formula, max(limit, 0)) if (self.resolve and formula) else None
        if not got:
            return
        points, total = got
        self._unread = max(0, total - len(points))
        if flat:
            yield 0, " ".join(v for p in points for v in p if v)
            return
        for i, p in enumerate(points):
            yield i, " / ".join(v for v in p if v)  # categories on several columns

    # --- chartEx (Office 2016: waterfall, treemap, sunburst, funnel, histogram, box & whisker) -

    def chart_ex(self, root) -> Chart:
        out = self.out
        chart = root.find(f"{CX}chart")
        if chart is None:
            return out
        out.title = _rich_text(chart.find(f"{CX}title"))
        data = {d.get("id") or "": d for d in root.iter(f"{CX}data")}
        for ser in chart.iter(f"{CX}series"):
            if len(out.series) >= MAX_SERIES:
                out.more_series += 1
                continue
            out.kinds.append(re.sub(r"(?<!^)(?=[A-Z])", " ", ser.get("layoutId") or "").lower() or "chart")
            data_id = ser.find(f"{CX}dataId")
            d = data.get(data_id.get("val") or "" if data_id is not None else "")
            out.series.append(self._series_ex(ser, d, len(out.series) + 1))
        for ax in chart.iter(f"{CX}axis"):
            title = _rich_text(ax.find(f"{CX}title"))
            if title:
                out.axes.append(title)
        return out

    def _series_ex(self, ser, data, number: int) -> Series:
        dims = {dim.get("type") or "": dim for dim in (data if data is not None else ())}
        for dim in dims.values():
            f = (dim.findtext(f"{CX}f") or "").strip()
            if f:
                self.out.refs.append(f)
        s = Series(_rich_text(ser.find(f"{CX}tx"))[:200] or f"Series {number}")
        val = next((dims[k] for k in ("val", "size", "y") if k in dims), None)
        cat = next((dims[k] for k in ("cat", "x") if k in dims), None)
        vals: dict[int, str] = {}
        if val is not None:
            fmt_code = next((lvl.get("formatCode") or "" for lvl in val.iter(f"{CX}lvl")), "")
            lvl = val.find(f"{CX}lvl")
            for i, v in _lvl_points(lvl) if lvl is not None else ():
                if v and self.left > 0:
                    vals[i] = _value(v, fmt_code)
                    self.left -= 1
                elif v:
                    s.more += 1
        cats = dict(_ex_levels(cat, vals.keys() if vals else None, self)) if cat is not None else {}
        if vals:
            s.points = [(cats.get(i, ""), v) for i, v in sorted(vals.items())]
        else:  # a treemap without values still names its boxes
            s.points = [("", c) for _, c in sorted(cats.items()) if c]
        return s


def _kind(tag: str, el) -> str:
    kind = _KIND.sub("", tag)
    if kind == "bar":
        direction = el.find(f"{C}barDir")
        kind = "column" if direction is None or direction.get("val") == "col" else "bar"
    return kind


def _int(el, attr: str = "val") -> int | None:
    try:
        v = int(el.get(attr)) if el is not None else None
    except (TypeError, ValueError):
        return None
    return v if v is not None and 0 <= v < 10**9 else None


def _cache(cache, wanted=None) -> Iterator[tuple[int, str]]:
    """(index, shown value) of a c:numCache / c:strCache / literal, as its points come."""
    fmt_code = cache.findtext(f"{C}formatCode") or ""
    for pt in cache.iter(f"{C}pt"):
        idx = _int(pt, "idx")
        if idx is not None and (wanted is None or idx in wanted):
            yield idx, _value(pt.findtext(f"{C}v") or "", pt.get("formatCode") or fmt_code)


def _lvl_points(lvl) -> Iterator[tuple[int, str]]:
    for pt in lvl:
        idx = _int(pt, "idx")
        if idx is not None:
            text = pt.findtext(f"{C}v") if pt.find(f"{C}v") is not None else pt.text
            yield idx, " ".join((text or "").split())


def _levels(cache, wanted=None) -> Iterator[tuple[int, str]]:
    """Multi-level categories: an outer level's point names the run of inner points it starts.
    Points are looked up by bisection: linear in the cache's size."""
    levels = []
    for lvl in cache.iter(f"{C}lvl"):
        pts = dict(_lvl_points(lvl))
        levels.append((sorted(pts), pts))
    yield from _join_levels(levels, wanted)


def _join_levels(levels, wanted) -> Iterator[tuple[int, str]]:
    inner = levels[0][0] if levels else []
    for i in (sorted(wanted) if wanted is not None else inner):
        parts: list[str] = []
        for keys, pts in reversed(levels):  # the first level is the innermost
            k = bisect.bisect_right(keys, i) - 1
            if k >= 0 and pts[keys[k]] and (not parts or parts[-1] != pts[keys[k]]):
                parts.append(pts[keys[k]])
        yield i, " / ".join(parts)


def _ex_levels(dim, wanted, reader: _Reader) -> Iterator[tuple[int, str]]:
    levels = []
    for lvl in dim.iter(f"{CX}lvl"):
        pts = dict(_lvl_points(lvl))
        levels.append((sorted(pts), pts))
    if wanted is None:  # names only (a treemap without values): as many as the budget allows
        keys = levels[0][0][:max(reader.left, 0)] if levels else []
        reader.left -= len(keys)
        wanted = keys
    yield from _join_levels(levels, wanted)


def _value(v: str, fmt_code: str) -> str:
    v = " ".join(v.split())[:200]
    try:
        x = float(v)
    except ValueError:
        return v
    if x != x or x in (float("inf"), float("-inf")):
        return v
    code = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", fmt_code)  # literals, colours, escapes
    if "%" in code:
        return f"{_num(x * 100)}%"
    if re.search(r"[yd]", code, re.I) and 0 < x < 2958466:  # a date format over an Excel serial
        day = dt.datetime(1899, 12, 30) + dt.timedelta(days=x)
        return day.date().isoformat() if day.time() == dt.time() else day.isoformat(sep=" ", timespec="minutes")
    return _num(x)


def _num(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:.10g}"

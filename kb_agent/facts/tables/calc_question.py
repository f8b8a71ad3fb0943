"""Recognises a calculation question about a loaded table and turns it into the ``fact_query``
arguments a language model would give: the table, the filters and the aggregate (the shape
aggregate.py accepts). "各城市的座位数合计？" -> ``{"table": …, "aggregate": {"function": "sum",
"column": "座位数 Seats", "group_by": ["城市 City"]}}``.

It exists for the offline router (facts/route.py): without a model, a calculation must be
computed, not answered with a few matching rows. Pure: it sees the tables' metadata and, through
the ``values`` callback, the distinct texts of one table's text columns (to find cell values the
question names).

False positives are worse than misses, so a question is a calculation only when all of it is
accounted for:

- it has a calculation cue (how many / 多少个 / 几个, total / 总共 / 合计, average / 平均,
  highest / 最高 / 最多, lowest / 最低 / 最少, per X / 按X / 各X, count distinct / 多少种,
  统计 / 汇总) and is not a how-to, why or meaning question ("如何…", "AM是什么意思？");
- it names at least one column of a table the principal can see, by its header or a part of it
  (bilingual "城市 City" -> 城市, city; "Amount (CNY)" -> amount; "Sum of X" -> X; plurals;
  "座位" for "座位数"), or the table itself by its file or sheet name ("how many orders …");
- every other word is a cue, another column, the table's name, a cell value (an equality
  filter; a code or word found inside the values of one column, such as "ESS" in
  "ESS员工自助服务培训", a ``contains`` filter), a month or date (a filter on the table's date
  column), the noun right after a value ("the East region"), or a function word. Anything else
  ("Paris", "excluding", "20") is a condition this parser cannot express, and the question falls
  through to the other routes unchanged.

Roles: a column after per/by/each/按/各/每 is grouped by; after which/what/哪个 (or before
是哪个/是谁) it is grouped by and the top group is asked for (``order_by: value``, ``limit``
1, or N for "top N"/"前N"). Of the other columns, the one aggregated is the number column for
sum/avg ("how many seats" is a sum of the seat column), the number or date column for
highest/lowest, and for a count the column named (distinct values: "how many cities" counts
cities, not rows) or, when none is, the rows.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from kb_agent.facts.tables.pivot import caption_field
from kb_agent.facts.text import words as content_words
from kb_agent.text import normalise

if TYPE_CHECKING:
    from kb_agent.facts.tables.schema import ColumnInfo, TableInfo

ValuesFn = Callable[["TableInfo", "ColumnInfo"], Sequence[str]]

_NOT_CALC = re.compile(
    r"\bhow\s+(?:do|does|did|can|could|should|would|to|is|are)\b|\bwhy\b|\bmeans?\b|\bmeaning\b|\bstand\s+for\b|"
    r"\bdefin|\bformula\b|\bexcel\b|如何|怎么|怎样|为什么|为何|意思|含义|定义|步骤|方法|公式|流程")
_CUES: dict[str, re.Pattern] = {
    "distinct": re.compile(r"\b(?:different|distinct|unique)\b|不同的?|多少种|几种"),
    "count": re.compile(r"\bhow\s+many\b|\bnumber\s+of\b|\bcount\b|多少(?:个|条|项|家|次|场|位|名|人|门)|"
                        r"几(?:个|条|项|家|次|场|位|名|门)|个数|计数|总数"),
    "sum": re.compile(r"\bin\s+total\b|\btotal\b|\bsum\b|\baltogether\b|\bcombined\b|总共|一共|合计|总计|总和|总额|共计|加起来|累计"),
    "avg": re.compile(r"\baverage\b|\bavg\b|平均(?:值|数)?|均值"),
    "tally": re.compile(r"统计|汇总"),
    "max": re.compile(r"\bhighest\b|\bmaximum\b|\bmax\b|\blargest\b|\bbiggest\b|\bgreatest\b|\blatest\b|"
                      r"最高|最大|最晚|最新|最贵|最长"),
    "min": re.compile(r"\blowest\b|\bminimum\b|\bmin\b|\bsmallest\b|\bearliest\b|最低|最小|最早|最便宜|最短"),
    "most": re.compile(r"\bthe\s+most\b|\bmost\b|最多"),
    "least": re.compile(r"\bthe\s+(?:least|fewest)\b|\bleast\b|\bfewest\b|最少"),
}
_TOP = re.compile(r"\btop\s*(\d{1,2})\b|前\s*(\d{1,2}|[一二两三四五六七八九十])\s*(?:名|个|位|家)?")
_CN_DIGITS = {c: i for i, c in enumerate("一二三四五六七八九十", start=1)} | {"两": 2}
_GROUP_BEFORE = re.compile(r"(?:\bper|\bby|\bfor\s+each|\beach|\bevery|按照|按|各个|各|每个|每一个|每位|每家|每)\s*(?:the\s+)?$")
_WHICH_BEFORE = re.compile(r"(?:\bwhich|\bwhat)\s+(?:of\s+the\s+)?$|(?:哪个|哪一个|哪些|哪家|哪位|哪)\s*$")
_WHICH_AFTER = re.compile(r"^\s*(?:是|为)?\s*(?:哪个|哪一个|哪些|哪家|哪位|哪里|哪儿|谁)")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DATE_FORMS = [
    (re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?(?!\d)"), "day"),
    (re.compile(r"(?<!\d)(\d{4})\s*年\s*(\d{1,2})\s*月份?|(?<![\d-])(\d{4})[-/.](\d{1,2})(?![\d/.-])"), "month"),
    (re.compile(r"\b(" + "|".join(_MONTHS) + r")[a-z]*\.?,?\s+(\d{4})\b"), "month-name"),
]
_PIVOT_WORDS = re.compile(r"数据透视表|透视表|\bpivot(?:\s+table)?s?\b")
_SCRIPT_SPLIT = re.compile(r"(?<=[\u3400-\u9fff])\s*(?=[a-z0-9])|(?<=[a-z0-9)])\s*(?=[\u3400-\u9fff])")
_CJK = re.compile(r"[\u3400-\u9fff]")
_DIGIT = re.compile(r"\d")
#: Words that make a condition this parser cannot express ("excluding Service", "before March"),
#: checked on what is left once columns and values are blanked.
_CONDITIONS = re.compile(
    r"\b(?:not|no|excluding|exclude|except|without|other\s+than|besides|before|after|since|until|more\s+than|"
    r"less\s+than|fewer\s+than|over|under|above|below|between|at\s+least|at\s+most|greater|smaller|exceed\w*|"
    r"only|but)\b|除了|除外|以外|之外|不含|不包括|不算|之前|之后|以前|以后|以来|以上|以下|超过|低于|高于|大于|小于|"
    r"不少于|不超过|至少|至多|之间|不是|没有|只")
_FUNCTION_WORDS = frozenset("the of and or a an in on at for to by per is are no 的 是 和 与 及 在 有".split())
#: Words that may be left over without changing what is computed.
ALLOWED = frozenset(
    "what which who whose whom is are was were be been the a an of in on at for to from by per with and or all "
    "each every any there their its it this that these those have has had do does did get gets got come came "
    "comes sold sell sells spent spend made bought ordered much many how number count rows row records record "
    "entries entry items item lines table tables sheet spreadsheet pivot data value values me tell show give list "
    "please overall altogether combined total sum across group grouped broken down s i we our us you".split()
    + "的 是 有 了 吗 呢 啊 吧 请问 请 一下 告诉 我 我们 给 显示 列出 多少 有多少 是多少 几 个 表 表格 表里 表中 数据 里 中 "
      "里面 其中 这个 那个 这张 所有 全部 各 每 按 按照 分别 统计 汇总 分组 行 条 记录 数 值 在 上 共 共有 透视表 "
      "数据 透视 为 都 什么 哪个 哪些 哪天 哪一天 一共有 总共有 分别是 情况".split())


@dataclass(frozen=True)
class CalcQuestion:
    """What the question asks, as the fact_query arguments (table name, filters, aggregate)."""
    table: str
    aggregate: dict[str, Any]
    filters: list[dict[str, Any]] = field(default_factory=list)
    pivot: bool = False

    def arguments(self, question: str) -> dict[str, Any]:
        args: dict[str, Any] = {"question": question, "table": self.table, "aggregate": dict(self.aggregate)}
        if self.filters:
            args["filters"] = [dict(f) for f in self.filters]
        return args


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    kind: str                 # column | table | value | date
    columns: frozenset = frozenset()   # column positions (column, value)
    value: Any = None


# -- names and where they occur ---------------------------------------------------------------
def _forms(name: str) -> set[str]:
    """The ways a question may write ``name`` (already normalised): itself and its plural or
    singular for a Latin word; without a trailing 数/数量 for a Chinese one (座位数 -> 座位)."""
    out = {name}
    if re.fullmatch(r"[a-z][a-z ]*[a-z]", name):
        if name.endswith("y") and len(name) > 3:
            out.add(name[:-1] + "ies")
        elif name.endswith("s") and not name.endswith("ss") and len(name) > 3:
            out.add(name[:-1])
        out |= {name + "s", name + "es"}
    if _CJK.search(name):
        for suffix in ("数量", "数"):
            if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                out.add(name[:-len(suffix)])
    return out


def column_names(name: str) -> set[str]:
    """The names a column may be called by: its header, the parts of a two-row or bilingual
    header ("Office / City", "城市 City"), without a parenthesised unit, the field of a pivot
    caption ("Sum of Amount" -> amount). Parts shorter than two letters or that are cue or
    function words are left out."""
    n = " ".join(normalise(name).split())
    names = {n}
    for part in re.split(r"\s*/\s*", n):
        names.add(part)
        bare = re.sub(r"\s*[(（][^)）]*[)）]\s*", " ", part).strip()
        names.add(bare)
        field_name = caption_field(bare)
        if field_name:
            names.add(field_name)
        names.update(p.strip() for p in _SCRIPT_SPLIT.split(bare))
    out = set()
    for x in names:
        if len(x) < 2 or x in _FUNCTION_WORDS or _DIGIT.fullmatch(x) or any(c.fullmatch(x) for c in _CUES.values()):
            continue
        out |= _forms(x)
    return out


def _find(q: str, needle: str) -> list[tuple[int, int]]:
    """Where ``needle`` occurs in ``q``; a Latin edge must be a word edge ("city" not in "velocity")."""
    if not needle or needle not in q:
        return []
    pat = re.escape(needle)
    if needle[0].isascii() and needle[0].isalnum():
        pat = r"(?<![a-z0-9])" + pat
    if needle[-1].isascii() and needle[-1].isalnum():
        pat += r"(?![a-z0-9])"
    return [(m.start(), m.end()) for m in re.finditer(pat, q)]


def _allocate(q: str, candidates: list[_Span]) -> list[_Span]:
    """Longest mentions first, never overlapping; at equal length a column beats a table name,
    which beats a cell value."""
    rank = {"date": 0, "column": 1, "table": 2, "value": 3}
    taken = [False] * len(q)
    out = []
    for s in sorted(candidates, key=lambda s: (-(s.end - s.start), rank[s.kind], s.start)):
        if any(taken[s.start:s.end]):
            continue
        for i in range(s.start, s.end):
            taken[i] = True
        out.append(s)
    return sorted(out, key=lambda s: s.start)


def _column_spans(q: str, table: "TableInfo") -> list[_Span]:
    by_name: dict[str, set[int]] = {}
    for c in table.columns:
        for n in column_names(c.name):
            by_name.setdefault(n, set()).add(c.pos)
    return [_Span(a, b, "column", frozenset(pos)) for n, pos in by_name.items() for a, b in _find(q, n)]


def _table_words(table: "TableInfo") -> set[str]:
    stem = table.source.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    out = set()
    for name in (normalise(stem), normalise(table.sheet)):
        out.add(name)
        out.add(re.sub(r"[_\-.]+", " ", name).strip())
    return {w for w in out if len(w) >= 2 and not _DIGIT.fullmatch(w)}


def _table_spans(q: str, table: "TableInfo") -> list[_Span]:
    return [_Span(a, b, "table") for w in _table_words(table) for a, b in _find(q, w)]


def _date_spans(q: str) -> list[_Span]:
    out = []
    for pattern, kind in _DATE_FORMS:
        for m in pattern.finditer(q):
            g = [x for x in m.groups() if x]
            try:
                if kind == "day":
                    value = f"{int(g[0]):04d}-{int(g[1]):02d}-{int(g[2]):02d}"
                elif kind == "month":
                    value = f"{int(g[0]):04d}-{int(g[1]):02d}"
                else:
                    value = f"{int(g[1]):04d}-{_MONTHS.index(g[0][:3]) + 1:02d}"
            except (ValueError, IndexError):
                continue
            if 1 <= int(value[5:7]) <= 12:
                out.append(_Span(m.start(), m.end(), "date", value=value))
    return out


@dataclass
class _Values:
    """Distinct texts of a table's text columns, normalised, for finding the ones a question names."""
    by_column: dict[int, list[tuple[str, str]]]   # pos -> [(normalised, as in the sheet)]

    @classmethod
    def load(cls, table: "TableInfo", values: ValuesFn) -> "_Values":
        return cls({c.pos: [(normalise(v).strip(), v) for v in values(table, c)]
                    for c in table.columns if c.type == "text"})

    def spans(self, q: str) -> list[_Span]:
        found: dict[str, tuple[set[int], str]] = {}
        for pos, vals in self.by_column.items():
            for norm, raw in vals:
                if len(norm) < 2 or _DIGIT.fullmatch(norm.replace(" ", "")) or norm in ALLOWED or norm not in q:
                    continue
                entry = found.setdefault(norm, (set(), raw))
                entry[0].add(pos)
        return [_Span(a, b, "value", frozenset(pos), raw) for norm, (pos, raw) in found.items()
                for a, b in _find(q, norm)]

    def containing(self, word: str) -> dict[int, bool]:
        """Columns whose values contain ``word`` -> whether every value does."""
        out = {}
        for pos, vals in self.by_column.items():
            hits = [n for n, _ in vals if _find(n, word)]
            if hits:
                out[pos] = len(hits) == len(vals)
        return out


# -- the parse ----------------------------------------------------------------------------------
@dataclass
class _Parse:
    table: "TableInfo"
    spans: list[_Span]
    masked: str                       # the question with every mention blanked out
    table_named: bool


def _mask(q: str, spans: Iterable[_Span]) -> str:
    chars = list(q)
    for s in spans:
        for i in range(s.start, s.end):
            chars[i] = "\x00"
    return "".join(chars)


def _cues(masked: str) -> tuple[dict[str, list[tuple[int, int]]], str]:
    found: dict[str, list[tuple[int, int]]] = {}
    for name, pattern in _CUES.items():
        for m in pattern.finditer(masked):
            found.setdefault(name, []).append(m.span())
    rest = list(masked)
    for spans in found.values():
        for a, b in spans:
            rest[a:b] = " " * (b - a)
    return found, "".join(rest)


def parse_calc_question(question: str, tables: Sequence["TableInfo"], values: ValuesFn,
                        extra_words: Iterable[str] = ()) -> CalcQuestion | None:
    """The calculation ``question`` asks of one of ``tables`` (those the principal may see),
    or None when it is not clearly one (see the module docstring)."""
    q = " ".join(normalise(question).split()).rstrip("?？。.!！ ")
    if not q or _NOT_CALC.search(q):
        return None
    if not any(p.search(q) for p in _CUES.values()) and not _TOP.search(q):
        return None
    extra = tuple(extra_words)
    dates = _date_spans(q)
    parsed = []
    for table in tables:
        if not _column_spans(q, table) and not _table_spans(q, table):
            continue
        result = _parse_table(question, q, table, dates, values, extra)
        if result is not None:
            parsed.append(result)
    if len(parsed) > 1:  # several tables fit: the one named, then the kind named (pivot or not)
        wants_pivot = bool(_PIVOT_WORDS.search(q))
        for keep in (lambda r: r[1], lambda r: r[0].pivot == wants_pivot):
            narrowed = [r for r in parsed if keep(r)]
            if narrowed:
                parsed = narrowed
    return parsed[0][0] if len(parsed) == 1 else None


def _parse_table(question: str, q: str, table: "TableInfo", dates: list[_Span], values: ValuesFn,
                 extra: tuple[str, ...]) -> tuple[CalcQuestion, bool] | None:
    vals = _Values.load(table, values)
    date_cols = [c for c in table.columns if c.type == "date"]
    spans = _allocate(q, [*(dates if date_cols else []), *_column_spans(q, table), *_table_spans(q, table),
                          *vals.spans(q)])
    cols = {c.pos: c for c in table.columns}
    col_spans = _resolve_columns([s for s in spans if s.kind == "column"])
    if col_spans is None or not (col_spans or any(s.kind == "table" for s in spans)):
        return None  # a column or the table itself must be named ("how many orders came from Beijing")
    masked = _mask(q, spans)
    cues, rest = _cues(masked)
    top = _TOP.search(rest)
    limit = None
    ranked = bool(top) or any(cues.get(k) for k in ("max", "min", "most", "least"))
    if top:
        n = top[1] or top[2]
        limit = int(n) if n.isdigit() else _CN_DIGITS.get(n)
        rest = rest[:top.start()] + " " * (top.end() - top.start()) + rest[top.end():]

    # Roles of the columns named.
    group: list[int] = []
    which = False
    previous: tuple[_Span, int] | None = None
    for s, pos in col_spans:
        before, after = rest[:s.start], rest[s.end:]
        m = _GROUP_BEFORE.search(before) or _WHICH_BEFORE.search(before)
        if not m and previous and previous[1] in group:  # "by city and dept", "按城市和部门"
            m = re.fullmatch(r"\s*(?:and|&|和|与|及|、)\s*", rest[previous[0].end:s.start])
            m = re.search(r"$", before) if m else None
        previous = (s, pos)
        if m and ranked and cols[pos].type == "number" and not _WHICH_BEFORE.search(before):
            m = None  # "top 3 cities by seats": ranked by the number column, not grouped by it
        right_after_top = top and re.fullmatch(r"[\s的]*(?:of\s+the\s+)?", rest[top.end():s.start])
        if right_after_top and not m and cols[pos].type != "number":
            m = re.search(r"$", before)  # "top 3 cities", "前3名的讲师": the column ranked
        if m:
            which = which or bool(_WHICH_BEFORE.search(before))
            rest = rest[:m.start()] + " " * (m.end() - m.start()) + rest[m.end():]
        a = _WHICH_AFTER.match(after)
        if a:
            which = True
            rest = rest[:s.end + a.start()] + " " * (a.end() - a.start()) + rest[s.end + a.end():]
        if (m or a) and pos not in group:
            group.append(pos)
    if len(group) > 2:
        return None

    # Filters: named cell values, dates, then codes or words found inside one column's values.
    filters: dict[int, dict[str, Any]] = {}
    value_ends: list[int] = []          # where a value ends: the noun after it may name its kind
    named_cols = {pos for _, pos in col_spans}
    for s in spans:
        if s.kind == "value":
            pos = s.columns
            if len(pos) > 1:
                pos = pos & named_cols
            if len(pos) != 1:
                return None  # the same text in several columns: which one is meant is unclear
            (p,) = pos
            if p in filters:
                return None  # two values of one column ("Shanghai and Beijing"): an OR we cannot express
            filters[p] = {"column": cols[p].name, "op": "=", "value": s.value}
            value_ends.append(s.end)
        elif s.kind == "date":
            named_dates = [c for c in date_cols if c.pos in named_cols]
            targets = named_dates or date_cols
            if len(targets) != 1 or targets[0].pos in filters:
                return None
            filters[targets[0].pos] = {"column": targets[0].name, "op": "=", "value": s.value}
    table_named = any(s.kind == "table" for s in spans)
    table_words = {w for name in _table_words(table) for w in name.split()}
    nouns = {_next_word(q, e, extra) for e in value_ends}
    for word in content_words(rest.replace("\x00", " "), extra):
        if word in ALLOWED or word in table_words:
            table_named = table_named or word in table_words
            continue
        if word in nouns:
            continue  # "the East region", "华东区域": the noun naming what the value is
        if re.fullmatch(r"[\d.,%]+", word):
            return None  # a number: a condition ("over 500") or a date this parser cannot read
        inside = vals.containing(word)
        if any(inside.values()):
            continue  # in every value of a column ("培训" in each course name): it narrows nothing
        if len(inside) != 1:
            return None  # unknown here, or inside the values of several columns
        (p,) = inside
        if p in filters:
            return None
        filters[p] = {"column": cols[p].name, "op": "contains", "value": _original(question, word)}
        at = q.find(word)
        nouns.add(_next_word(q, at + len(word), extra) if at >= 0 else "")

    if _CONDITIONS.search(rest):
        return None
    spec = _aggregate(cues, cols, [pos for _, pos in col_spans], group, set(filters), which, limit)
    if spec is None:
        return None
    return CalcQuestion(table.name, spec, list(filters.values()), table.pivot), table_named


def _resolve_columns(spans: list[_Span]) -> list[tuple[_Span, int]] | None:
    """One column per mention. A mention that fits several columns ("q1" in "Q1 / Sum of A" and
    "Q1 / Average of B") is narrowed by another such mention ("sum of a"); still unclear: None."""
    single = [(s, next(iter(s.columns))) for s in spans if len(s.columns) == 1]
    multi = [s for s in spans if len(s.columns) > 1]
    used = set()
    for i, s in enumerate(multi):
        if i in used:
            continue
        for j in range(i + 1, len(multi)):
            both = s.columns & multi[j].columns
            if j not in used and len(both) == 1:
                used |= {i, j}
                single.append((_Span(s.start, s.end, "column", both), next(iter(both))))
                break
        else:
            return None
    return sorted(single, key=lambda x: x[0].start)


def _next_word(q: str, end: int, extra: tuple[str, ...]) -> str:
    """The word right after position ``end`` ("region" in "east region")."""
    tail = q[end:end + 12]
    m = re.match(r"\s?([a-z]+)", tail)
    if m:
        return m[1]
    m = re.match(r"\s?([\u3400-\u9fff]+)", tail)
    if m:
        found = content_words(m[1], extra)
        return found[0] if found else ""
    return ""


def _original(question: str, word: str) -> str:
    """``word`` as the question wrote it ("ESS", not "ess")."""
    text = unicodedata.normalize("NFKC", question)
    at = text.casefold().find(word)
    return text[at:at + len(word)] if at >= 0 else word


def _aggregate(cues: dict, cols: dict[int, "ColumnInfo"], named: list[int], group: list[int],
               filtered: set[int], which: bool, limit: int | None) -> dict[str, Any] | None:
    has = {k: bool(v) for k, v in cues.items()}
    superlative = next((k for k in ("max", "min", "most", "least") if has.get(k)), None)
    if sum(bool(has.get(k)) for k in ("max", "min", "most", "least")) > 1 or (has.get("avg") and has.get("sum")):
        return None
    if which and not (superlative or limit):
        return None  # "which city has 60 seats" is a lookup, not a calculation
    targets = [p for p in dict.fromkeys(named) if p not in group and p not in filtered]
    nums = [p for p in targets if cols[p].type == "number"]
    texts = [p for p in targets if cols[p].type == "text"]
    ordered = [p for p in targets if cols[p].type in ("number", "date")]
    func: str | None
    column: int | None = None
    if has.get("avg") or has.get("sum") or (has.get("tally") and nums):
        if len(nums) == 1:
            func, column = ("avg" if has.get("avg") else "sum"), nums[0]
        elif not nums and has.get("sum") and (has.get("count") or has.get("distinct")):
            func, column = _count(has, texts)
        else:
            return None
    elif has.get("count") or has.get("distinct") or has.get("tally"):
        if len(nums) == 1 and not texts and not has.get("distinct"):
            func, column = "sum", nums[0]   # "how many seats": the seats, added up
        else:
            func, column = _count(has, texts)
    elif (superlative in ("most", "least") or (limit and not superlative)) and (which or limit or group):
        if len(nums) == 1:
            func, column = "sum", nums[0]
        elif len(texts) <= 1 and not nums:
            func, column = "count", (texts[0] if texts else None)
        else:
            return None
    elif superlative:
        if len(ordered) != 1:
            return None
        func, column = ("max" if superlative in ("max", "most") else "min"), ordered[0]
    else:
        return None
    if func is None:
        return None
    if func in ("sum", "avg") and column is None:
        return None
    if not group and (which or limit):
        return None
    spec: dict[str, Any] = {"function": func}
    if column is not None:
        spec["column"] = cols[column].name
    if group:
        spec["group_by"] = [cols[p].name for p in group]
        if superlative or limit:
            spec["order_by"] = "value"
            spec["order"] = "asc" if superlative in ("min", "least") else "desc"
        if which or limit:
            spec["limit"] = limit or 1
    return spec


def _count(has: dict, texts: list[int]) -> tuple[str | None, int | None]:
    """A count: of the distinct values of the one text column named, or of rows when none is."""
    if len(texts) > 1:
        return None, None
    if not texts:
        return "count", None
    return "count_distinct", texts[0]

"""Turns a :class:`FactQueryResult` into what people and the model see: the fact_query tool
output (text + citations + payload) and the short offline answer body. Shared by the tool
and the offline route so both say exactly the same thing."""

from __future__ import annotations

from kb_agent.facts.match import FactHit
from kb_agent.facts.model import Fact
from kb_agent.facts.service import FactQueryResult
from kb_agent.facts.tables.aggregate import AggregateGroup, AggregateResult, format_value
from kb_agent.facts.tables.schema import RowHit, TableInfo
from kb_agent.i18n import language_of
from kb_agent.results import Citation, ToolOutput


def validity(fact: Fact) -> str:
    if not fact.valid_from and not fact.valid_to:
        return "no end date"
    return f"{fact.valid_from.isoformat() if fact.valid_from else '…'} – {fact.valid_to.isoformat() if fact.valid_to else 'open'}"


def fact_citation(hit: FactHit, question: str) -> Citation:
    f = hit.fact
    # A locator label names the place inside `source` (the UI and CLI print "source (label)").
    if f.source.document:
        label = f.source.locator or f"fact {f.id}"
    else:
        label = f.source.person or f"line {f.line}"
    return Citation(source=f.source.document or f"facts/{f.file}",
                    locator={"kind": "fact", "fact_id": f.id, "file": f"facts/{f.file}", "line": f.line,
                             "document_locator": f.source.locator, "person": f.source.person,
                             "valid_from": f.valid_from.isoformat() if f.valid_from else None,
                             "valid_to": f.valid_to.isoformat() if f.valid_to else None, "label": label},
                    text=f.answer_for(question), score=hit.confidence, kind="fact")


def _label(t: TableInfo, ref: str) -> str:
    """'Sheet!B3', or 'Pivot!B3 (pivot)' for a pivot table's cells."""
    return f"{t.sheet}!{ref}" + (" (pivot)" if t.pivot else "")


def row_citations(row: RowHit, columns_only: bool) -> list[Citation]:
    t = row.table
    if columns_only:
        return [Citation(source=t.source, locator={"kind": "sheet", "sheet": t.sheet, "cell_range": c.ref,
                                                   "label": _label(t, c.ref), "ref": row.cite(c), "pivot": t.pivot},
                         text=f"{c.column}: {c.text}", kind="table") for c in row.cells]
    return [Citation(source=t.source, locator={"kind": "sheet", "sheet": t.sheet, "cell_range": row.range_ref,
                                               "label": _label(t, row.range_ref), "ref": row.cite(), "pivot": t.pivot},
                     text=row_text(row), score=row.score or None, kind="table")]


def row_text(row: RowHit) -> str:
    return "; ".join(f"{c.column}: {c.text}" for c in row.cells if c.text)


def row_line(row: RowHit) -> str:
    cells = "; ".join(f"{c.column}: {c.text} [{c.ref}]" for c in row.cells if c.text)
    return f"- {row.cite()}{' (pivot)' if row.table.pivot else ''} — {cells}"


def aggregate_citations(agg: AggregateResult) -> list[Citation]:
    """One citation per group shown, then one for the overall result (the only one when
    ungrouped): the cells it was computed from, the rows used and the filters applied. The
    overall figure is cited too, as the model reads it and may state it."""
    t = agg.table
    out = []
    for g in ([*agg.groups, agg.total] if agg.grouped else [agg.total]):
        if not g.rows:
            continue
        ranges, complete = agg.ranges(g)
        bounding = agg.bounding(g)
        out.append(Citation(source=t.source, locator={
            "kind": "sheet", "sheet": t.sheet, "cell_range": bounding, "ranges": ranges,
            "ranges_complete": complete, "label": _label(t, bounding), "ref": agg.cite(g), "pivot": t.pivot,
            "rows_used": g.rows, "missing": g.missing, "filters": [f.to_dict() for f in agg.filters]},
            text=("Overall: " if g is agg.total and agg.grouped else "") + aggregate_line(agg, g), kind="table"))
    return out


def aggregate_line(agg: AggregateResult, g: AggregateGroup) -> str:
    """'城市 = 上海: sum of 名额 = 350 (3 rows; 1 row had no value: E9) [E6:E7,E10]'."""
    keys = ", ".join(f"{name} = {format_value(v) if v is not None else '(empty)'}"
                     for name, v in agg.keys_dict(g).items())
    ranges, complete = agg.ranges(g)
    text = f"{keys + ': ' if keys else ''}{agg.label} = {format_value(g.value)} ({g.rows} row(s)"
    if g.missing:
        cells = agg.missing_cells(g)
        more = ", …" if g.missing > len(cells) else ""
        text += f"; {g.missing} row(s) had no value in {agg.plan.column.name}: {', '.join(cells)}{more}"
    text += ")"
    if ranges:
        text += f" [{','.join(ranges)}{'' if complete else ', the filtered rows within'}]"
    return text


def _aggregate_text(agg: AggregateResult) -> str:
    t, total = agg.table, agg.total
    where = "; ".join(f"{f.column} {f.op} {f.value!r}" for f in agg.filters)
    head = f"Table {t.title}: {agg.label}"
    if agg.grouped:
        head += f" by {', '.join(c.name for c in agg.plan.group_by)}, {agg.n_groups} group(s)"
        if agg.truncated:
            head += f", showing {len(agg.groups)}"
    head += f" (filters: {where})" if where else " (all rows)"
    lines = [head + ":"]
    if agg.grouped:
        lines += [f"- {aggregate_line(agg, g)}" for g in agg.groups]
        lines.append(f"Overall: {aggregate_line(agg, total)}")
    else:
        lines.append(f"- {aggregate_line(agg, total)}")
    lines.append(f"Cells: {agg.cite(total)}")
    return "\n".join(lines)


def _fact_line(hit: FactHit, question: str) -> str:
    f = hit.fact
    who = ", ".join(x for x in (f.owner, f.department) if x)
    return (f"{f.answer_for(question)}\n  (fact '{f.id}', confidence {hit.confidence:.2f}; source: "
            f"{f.source.label() or 'facts/' + f.file}{'; owner ' + who if who else ''}; valid {validity(f)})")


def fact_json(result: FactQueryResult) -> dict:
    """The `kb-agent facts query --json` object (also the JSON API's): the result, the
    fact_query tool's text and its citations."""
    output = fact_output(result)
    return {**result.to_dict(), "text": output.text, "citations": [c.to_dict() for c in output.citations]}


def fact_output(result: FactQueryResult) -> ToolOutput:
    """The fact_query tool result."""
    q, payload = result.question, result.to_dict()
    if result.status in ("fact", "conflict"):
        lines = []
        if result.status == "conflict":
            lines.append("Curated facts disagree on this question (reported to the admins); both are shown:")
        else:
            lines.append("Curated fact (curated facts take precedence over document passages):")
        lines += [_fact_line(h, q) for h in result.facts]
        return ToolOutput("\n".join(lines), [fact_citation(h, q) for h in result.facts], payload)
    if result.status == "ambiguous":
        lines = ["No single curated fact fits this question with confidence; these come close "
                 "(use one only if it really answers the question, otherwise search the documents):"]
        lines += [_fact_line(h, q) for h in result.facts]
        return ToolOutput("\n".join(lines), [fact_citation(h, q) for h in result.facts], payload, found=False)
    if result.status in ("expired", "future"):
        f = result.facts[0].fact
        when = (f"expired on {f.valid_to.isoformat()}" if result.status == "expired"
                else f"is only valid from {f.valid_from.isoformat()}")
        text = (f"No current fact. The matching fact '{f.id}' {when}, so it is not served as current "
                f"(it said: {f.answer_for(q)}). Search the documents for the current answer.")
        return ToolOutput(text, [fact_citation(result.facts[0], q)], payload, found=False)
    if result.status == "table":
        tr = result.table
        if not tr.rows:
            return ToolOutput(f"No rows in table '{tr.table.name}' match these filters "
                              f"(the table has {tr.table.n_rows} rows; columns: "
                              f"{', '.join(c.name for c in tr.table.columns)}).", [], payload, found=False)
        head = f"Table {tr.table.title}: {tr.total} matching row(s)"
        if tr.truncated:
            head += f", showing the first {len(tr.rows)} (narrow the filters to see others)"
        cols_only = len(tr.rows[0].cells) < len(tr.table.columns)
        cites = [c for r in tr.rows for c in row_citations(r, cols_only)]
        return ToolOutput("\n".join([head + ":"] + [row_line(r) for r in tr.rows]), cites, payload)
    if result.status == "aggregate":
        agg = result.aggregate
        if not agg.total.rows:
            matched = agg.total.missing
            why = (f"{matched} row(s) match these filters but none has a value in '{agg.plan.column.name}'"
                   f" (cells {', '.join(agg.missing_cells(agg.total))})" if matched
                   else "No rows match these filters")
            return ToolOutput(f"{why}; table '{agg.table.name}' has {agg.table.n_rows} rows; columns: "
                              f"{', '.join(c.name for c in agg.table.columns)}.", [], payload, found=False)
        return ToolOutput(_aggregate_text(agg), aggregate_citations(agg), payload)
    if result.status == "rows":
        head = f"No curated fact; spreadsheet rows matching the question (confidence {result.confidence:.2f}):"
        cites = [c for r in result.rows for c in row_citations(r, False)]
        return ToolOutput("\n".join([head] + [row_line(r) for r in result.rows]), cites, payload)
    text = (f"No matching fact (best confidence {result.confidence:.2f}, threshold {result.threshold:.2f}). "
            "Search the documents instead.")
    if result.candidates:
        # The model judges paraphrases better than keyword overlap: show the closest facts, clearly
        # marked, so it can use one that answers exactly this question (the offline router never does).
        text += ("\nClosest curated facts, below the threshold (use one only if it answers exactly this "
                 "question):\n" + "\n".join(_fact_line(h, q) for h in result.candidates))
    return ToolOutput(text, [], payload, found=False)  # no citations: nothing was found


_FUNCTION_ZH = {"count": "计数", "count_distinct": "不同值个数", "sum": "合计", "avg": "平均值", "min": "最小值",
                "max": "最大值"}


def calculation_summary(agg: AggregateResult, zh: bool) -> str:
    """One line in the asker's language saying what was computed and which rows were counted:
    the filters, the rows used and the empty or NA cells skipped."""
    p, total, t = agg.plan, agg.total, agg.table
    column = p.column.name if p.column else ("行" if zh else "rows")
    where = "; ".join(f"{f.column} {f.op} {f.value}" for f in agg.filters)
    skipped = ", ".join(agg.missing_cells(total)) + (", …" if total.missing > len(agg.missing_cells(total)) else "")
    if zh:
        line = f"根据表格 {t.title} 计算：{column} 的{_FUNCTION_ZH[p.spec.function]}"
        if p.group_by:
            line += f"，按 {'、'.join(c.name for c in p.group_by)} 分组"
        line += f"；筛选：{where}" if where else "；全部行"
        line += f"；计入 {total.rows} 行"
        if total.missing:
            line += f"，跳过 {total.missing} 个空白或 NA 单元格（{skipped}）"
        return line + f"；单元格：{agg.cite(total) or '无'}。"
    line = f"Calculated from table {t.title}: {agg.label}"
    if p.group_by:
        line += f" by {', '.join(c.name for c in p.group_by)}"
    line += f"; filters: {where}" if where else "; all rows"
    line += f"; {total.rows} row(s) counted"
    if total.missing:
        line += f", {total.missing} empty or NA cell(s) skipped ({skipped})"
    return line + f"; cells: {agg.cite(total) or 'none'}."


def offline_body(result: FactQueryResult, output: ToolOutput | None = None) -> str:
    """The answer shown by the offline router (no LLM): the fact, the rows or the calculation,
    with sources. ``output``: the fact_query output already made for ``result`` (a calculation's
    text is that output; making it twice costs as much as the query on a large sheet)."""
    q = result.question
    zh = language_of(q) == "zh"
    if result.status in ("fact", "conflict"):
        parts = []
        if result.status == "conflict":
            parts.append("以下事实条目互相矛盾，已报告管理员：" if zh else
                         "These curated facts disagree (reported to the admins):")
        for h in result.facts:
            f = h.fact
            src = f.source.label() or f"facts/{f.file}"
            parts.append(f"{f.answer_for(q)}\n" + (f"  来源：{src}（事实 {f.id}，有效期 {validity(f)}）" if zh
                                                  else f"  Source: {src} (fact {f.id}, valid {validity(f)})"))
        return "\n".join(parts)
    if result.status == "aggregate":
        return calculation_summary(result.aggregate, zh) + "\n" + (output or fact_output(result)).text
    rows = result.rows if result.status == "rows" else (result.table.rows if result.table else [])
    head = "表格中匹配的行：" if zh else "Matching spreadsheet rows:"
    return "\n".join([head] + [row_line(r) for r in rows])

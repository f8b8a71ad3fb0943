"""Chunking: token bounds, section boundaries, Chinese sentence splitting, overlap, sheet packing."""

from __future__ import annotations

from kb_agent.chunk import Locator
from kb_agent.ingest.chunking import CHARS_PER_TOKEN, chunk_sections, estimate_tokens, merge_ranges, split_text
from kb_agent.ingest.model import Section


def test_estimate_tokens_counts_cjk_chars_and_words():
    assert estimate_tokens("培训每月两次") == 6
    assert estimate_tokens("print speed forty") == 4  # ceil(1.3 * 3)


def test_short_text_is_one_piece_and_blank_is_none():
    assert split_text("  一句话。 ", 50) == ["一句话。"]
    assert split_text(" \n ", 50) == []


def test_long_chinese_text_splits_at_sentence_ends_within_budget():
    text = "".join(f"第{i}条规定员工应在三十天内提交报销申请。" for i in range(60))
    pieces = split_text(text, 100, 0)
    assert len(pieces) > 5
    assert all(estimate_tokens(p) <= 100 for p in pieces)
    assert all(p.endswith("。") for p in pieces)  # sentence boundaries, not mid-sentence
    assert "".join(pieces) == text


def test_overlap_repeats_the_tail_sentence():
    sents = [f"Sentence number {i} talks about toner." for i in range(40)]
    pieces = split_text(" ".join(sents), 60, 15)
    for a, b in zip(pieces, pieces[1:]):
        last = a.split(". ")[-1].rstrip(".")
        assert b.startswith(last)


def test_paragraph_boundaries_preferred():
    paras = ["甲" * 40, "乙" * 40, "丙" * 40]
    assert split_text("\n\n".join(paras), 90, 0) == ["甲" * 40 + "\n" + "乙" * 40, "丙" * 40]


def test_hard_cut_for_unbroken_text():
    pieces = split_text("字" * 250, 100, 0)
    assert [len(p) for p in pieces] == [100, 100, 50]


def test_chunks_never_cross_sections():
    secs = [Section(Locator.for_page(1), "一" * 30), Section(Locator.for_page(2), "二" * 30)]
    pieces = chunk_sections(secs, 400)
    assert [(p.locator.page, p.text) for p in pieces] == [(1, "一" * 30), (2, "二" * 30)]


def test_sheet_rows_pack_per_sheet_with_merged_ranges():
    secs = [Section(Locator.for_sheet("S", f"A{r}:C{r}"), "值" * 30) for r in range(2, 12)]
    secs.append(Section(Locator.for_sheet("T", "A2:B2"), "x"))
    pieces = chunk_sections(secs, 100)
    assert [(p.locator.sheet, p.locator.cell_range) for p in pieces] == [
        ("S", "A2:C4"), ("S", "A5:C7"), ("S", "A8:C10"), ("S", "A11:C11"), ("T", "A2:B2")]


def test_merge_ranges_bounding_box():
    assert merge_ranges(["B3:D3", "A4:C4", "AA10:AB10"]) == "A3:AB10"


def _bounded(pieces, max_tokens, max_chars):
    assert pieces
    worst = max(pieces, key=len)
    assert all(len(p) <= max_chars for p in pieces), len(worst)
    assert all(estimate_tokens(p) <= max_tokens for p in pieces), estimate_tokens(worst)


def test_text_without_whitespace_is_bounded_by_characters_and_tokens():
    import base64
    import os
    import time

    minified = "function f(a,b){return a+b};var x=[1,2,3].map(function(v){return v*2});" * 4000
    cases = {"one long word": "a" * 300_000, "base64": base64.b64encode(os.urandom(225_000)).decode(),
             "minified js": minified, "hex": os.urandom(100_000).hex(), "spaces": "a" + " " * 50_000 + "b"}
    for name, text in cases.items():
        t0 = time.perf_counter()
        pieces = split_text(text, 400, 40)
        assert time.perf_counter() - t0 < 10, name
        _bounded(pieces, 400, 400 * CHARS_PER_TOKEN)
        plain = split_text(text, 400, 0)
        _bounded(plain, 400, 400 * CHARS_PER_TOKEN)
        assert "".join(plain).replace(" ", "") == text.replace(" ", ""), name  # nothing lost


def test_long_runs_count_as_many_tokens():
    assert estimate_tokens("a" * 20) == 2  # an ordinary long word: still ~1.3
    assert estimate_tokens("a" * 4000) > 900  # ≈ one per 4 characters, as tokenizers split it


def test_every_section_kind_is_bounded():
    secs = [Section(Locator.for_page(1), "x" * 50_000),
            Section(Locator.for_sheet("S", "A2:C2"), "列: " + "y" * 50_000),
            Section(Locator.for_heading("h" * 10_000), "z" * 5000)]
    pieces = chunk_sections(secs, 100, 10)
    _bounded([p.text for p in pieces], 100, 100 * CHARS_PER_TOKEN)
    assert {p.locator.kind for p in pieces} == {"page", "sheet", "heading"}
    assert all(len(h) <= 200 for p in pieces for h in p.locator.heading_path)  # a heading line is no title

"""Chunking: token bounds, section boundaries, Chinese sentence splitting, overlap, sheet packing."""

from __future__ import annotations

from kb_agent.chunk import Locator
from kb_agent.ingest.chunking import chunk_sections, estimate_tokens, merge_ranges, split_text
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

"""The evaluation harness: pure metrics, item validation with file/line/field, and
`kb-agent eval` end to end over a real knowledge base."""

from __future__ import annotations

import json

import pytest

from kb_agent.eval.dataset import load_items
from kb_agent.eval.metrics import (contains_match, exact_match, first_relevant_rank, locator_matches, mrr,
                                   normalise_answer, percentile, recall_at)


def test_answer_matching_ignores_case_width_spaces_and_punctuation():
    assert normalise_answer("第 3 培训室。") == "第3培训室"
    assert exact_match("actual achieved price", ["AAP", "Actual Achieved Price"])
    assert not exact_match("Actual", ["Actual Achieved Price"])
    assert contains_match("每月两次", "ESS培训：每月 两次，周三")
    assert not contains_match("", "anything")


def test_locator_matching_and_ranks():
    loc = {"kind": "heading", "heading_path": ["费用报销制度", "报销时限"], "label": "费用报销制度 > 报销时限"}
    assert locator_matches({"heading": "费用报销制度"}, loc) and locator_matches({"heading": ["费用报销制度", "报销时限"]}, loc)
    assert not locator_matches({"heading": "报销时限"}, loc)
    assert locator_matches({"page": "3"}, {"kind": "page", "page": 3}) and not locator_matches({"slide": 3}, {"page": 3})
    assert locator_matches({"sheet": "AIP 2026"}, {"kind": "sheet", "sheet": "AIP 2026", "cell_range": "A3:D6"})
    hits = [("a.pdf", {"page": 1}), ("b.pdf", {"page": 2}), ("a.pdf", {"page": 3})]
    assert first_relevant_rank(hits, "a.pdf", {"page": 3}) == 3
    assert first_relevant_rank(hits, "a.pdf", None) == 1 and first_relevant_rank(hits, "c.pdf", None) is None
    assert first_relevant_rank(hits, ("c.pdf", "b.pdf"), None) == 2          # any acceptable source
    ranks = [1, 3, None, 2]
    assert recall_at(ranks, 1) == 0.25 and recall_at(ranks, 5) == 0.75
    assert mrr(ranks) == pytest.approx((1 + 1 / 3 + 1 / 2) / 4)
    assert percentile([5, 1, 3, 2, 4], 50) == 3 and percentile([1, 2, 3, 4, 100], 95) == 100
    assert percentile([], 50) != percentile([], 50)                      # NaN


def test_bad_items_are_reported_with_file_line_and_field(tmp_path):
    f = tmp_path / "e.jsonl"
    f.write_text("\n".join([
        '{"id": "ok1", "question": "AM是什么", "kind": "term", "expected_answer": "客户经理"}',
        'not json',
        '{"id": "x", "question": "q", "kind": "term"}',
        '{"id": "y", "question": "q", "kind": "poem"}',
        '{"id": "z", "question": "q", "kind": "doc"}',
        '{"id": "w", "question": "q", "kind": "doc", "expected_source": "a.pdf", "expected_locator": {"row": 1}}',
        '{"id": "ok1", "question": "again", "kind": "doc", "expected_source": null}',
        '{"id": "ok2", "question": "What does FSE stand for?", "kind": "doc", "expected_source": null}',
        '{"id": "ok3", "question": "E3-101?", "kind": "doc", "expected_source": ["a.xlsx", "/b.pptx"]}',
        '{"id": "bad", "question": "q", "kind": "doc", "expected_source": []}',
    ]), encoding="utf-8")
    items, issues = load_items([f, tmp_path / "missing.jsonl"])
    assert [i.id for i in items] == ["ok1", "ok2", "ok3"]
    assert items[2].expected_source == ("a.xlsx", "b.pptx") and items[2].answerable
    assert items[0].lang == "zh" and items[0].expected_route == "term"
    assert items[1].expected_route == "none" and not items[1].answerable and items[1].lang == "en"
    got = [(i.line, i.field) for i in issues]
    assert got == [(2, "(line)"), (3, "expected_answer"), (4, "kind"), (5, "expected_source"),
                   (6, "expected_locator"), (7, "id"), (10, "expected_source"), (0, "(file)")]
    assert str(issues[1]).startswith(f"{f}:3: expected_answer:")


EVAL_ITEMS = [
    {"id": "t1", "question": "AM是什么意思？", "kind": "term", "expected_answer": "Account Manager"},
    {"id": "t2", "question": "What does FSE stand for?", "kind": "term", "expected_answer": "Field Service Engineer"},
    {"id": "d1", "question": "AM在售后流程里负责什么", "kind": "doc",
     "expected_source": "processes/after_sales_process.docx", "expected_locator": {"heading": "产品售后流程 > 客户经理职责"}},
    {"id": "d2", "question": "How many pages per minute does the SL-500 print?", "kind": "doc",
     "expected_source": "products/springlake_sl500_training.pptx", "expected_locator": {"slide": 2}},
    {"id": "d3", "question": "ESS培训在哪里举行", "kind": "doc",
     "expected_source": "hr/ess_training_notice.pdf", "expected_locator": {"page": 7}},     # wrong page: a miss
    {"id": "n1", "question": "Who won the football world cup in 1998?", "kind": "doc", "expected_source": None},
]


def test_eval_cli_reports_metrics_per_kind(cli, chunk_store, tmp_path):
    f = tmp_path / "eval.jsonl"
    f.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in EVAL_ITEMS) + "\nbroken\n", encoding="utf-8")
    env = {"KB_AGENT_EMBEDDER__NUM_THREADS": "1"}
    result = cli("eval", str(f), "--json", "--kind", "doc", "--kind", "term", env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    doc, term = report["kinds"]["doc"], report["kinds"]["term"]
    assert doc["n"] == 4 and doc["answerable"] == 3
    assert doc["recall@1"] == pytest.approx(2 / 3, abs=1e-3) and doc["recall@5"] == pytest.approx(2 / 3, abs=1e-3)
    assert doc["mrr"] == pytest.approx(2 / 3, abs=1e-3)
    assert doc["refused_when_unanswerable"] == 1.0
    assert set(doc["by_lang"]) == {"zh", "en"}
    assert doc["latency_ms"]["p50"] > 0 and doc["latency_ms"]["p95"] >= doc["latency_ms"]["p50"]
    assert term == {**term, "n": 2, "exact": 1.0, "contains": 1.0}
    assert report["routing"]["n"] == 6 and 0 <= report["routing"]["accuracy"] <= 1
    assert report["issues"][0]["line"] == 7
    by_id = {r["id"]: r for r in report["results"]}
    assert by_id["d1"]["rank"] == 1 and by_id["d3"]["rank"] is None and by_id["n1"]["found"] is False
    assert by_id["t1"]["route"] == "term"

    text = cli("eval", str(f), "--no-route", env=env)
    assert text.exit_code == 0 and "recall@1 0.667" in text.stdout and "route" not in text.stdout.split("\n")[-1]


def test_eval_calibrate_prints_the_curve_and_writes_the_chosen_cut_offs(cli, chunk_store, tmp_path):
    f = tmp_path / "eval.jsonl"
    f.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in EVAL_ITEMS), encoding="utf-8")
    settings_file = tmp_path / "kb_agent.yaml"
    settings_file.write_text("web:\n  title: Acme KB\n", encoding="utf-8")
    env = {"KB_AGENT_EMBEDDER__NUM_THREADS": "1"}
    result = cli("eval", str(f), "--calibrate", "--json", "--write", str(settings_file), env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["answerable"] == 3 and report["unanswerable"] > 1          # its own + generated negatives
    chosen = report["chosen"]
    assert chosen["refused_answerable"] <= 1 / 3 and chosen["refused_unanswerable"] >= 0.9
    assert report["curve"] == sorted(report["curve"], key=lambda p: p["refused_answerable"])
    import yaml

    written = yaml.safe_load(settings_file.read_text(encoding="utf-8"))
    assert written["web"] == {"title": "Acme KB"} and written["retrieval"]["relevance"] == chosen["policy"]
    from kb_agent.config import load_settings

    assert load_settings(settings_file).retrieval.relevance.min_coverage == chosen["policy"]["min_coverage"]
    text = cli("eval", str(f), "--calibrate", "--no-generated", env=env)
    assert text.exit_code == 0 and "refused unanswerable" in text.stdout and "chosen:" in text.stdout
    bad = cli("eval", str(f), "--write", str(settings_file), env=env)
    assert bad.exit_code != 0 and "--calibrate" in bad.output

"""fact_query as the tool, the offline fact route and the `kb-agent facts` commands: all go
through KnowledgeBase.query_facts and say the same thing."""

from __future__ import annotations

import json

from kb_agent.access import EMPLOYEE
from kb_agent.answering import Answerer
from kb_agent.tooling import TurnRecorder, load_tool_class
from tests.facts.conftest import load_sample_tables


def tool(kb, principal=EMPLOYEE):
    cls = load_tool_class("fact_query", kb.settings.agent.tools_dir)
    recorder = TurnRecorder()
    return cls({"kb": kb, "principal": principal, "recorder": recorder}), recorder


def test_offline_fact_answer_with_source(kb):
    answer = Answerer(kb.settings, kb).ask("ESS培训每月几次？", EMPLOYEE)
    assert answer.found and answer.route == "fact"
    assert "每月两次" in answer.answer and "hr/ess_training_notice.pdf" in answer.answer
    assert answer.tool_calls == [{"name": "fact_query", "arguments": {"question": "ESS培训每月几次？"}}]
    assert answer.citations[0].kind == "fact"


def test_term_questions_still_go_to_the_glossary(kb):
    answer = Answerer(kb.settings, kb).ask("ESS是什么意思？", EMPLOYEE)
    assert answer.route == "term"


def test_offline_table_rows_with_cell_citations(kb):
    load_sample_tables(kb)
    answer = Answerer(kb.settings, kb).ask("上海总部的电话是多少？", EMPLOYEE)
    assert answer.found and answer.route == "fact"
    assert "021-5555-0100 [F4]" in answer.answer
    assert answer.citations[0].locator["ref"] == "office_directory.xlsx!办公室!A4:H4"
    assert answer.citations[0].kind == "table"
    answer = Answerer(kb.settings, kb).ask("What is the address of the Beijing Office?", EMPLOYEE)
    assert "88 Jianguo Rd" in answer.answer and "010-5555-0200" in answer.answer


def test_offline_unanswerable_is_not_found(kb):
    load_sample_tables(kb)
    answer = Answerer(kb.settings, kb).ask("北京办事处有停车位吗？", EMPLOYEE)
    assert answer.route != "fact"


def test_tool_lists_tables_and_queries_them_with_filters(kb):
    load_sample_tables(kb)
    t, recorder = tool(kb)
    assert "tables/training_calendar.xlsx!2026上半年 [19 rows]" in t.description
    assert "名额 (number)" in t.description
    assert t.function["description"] == t.description
    args = {"question": "3月有哪些ESS培训？", "table": "training_calendar",
            "filters": [{"column": "课程", "op": "contains", "value": "ESS"},
                        {"column": "日期", "op": "=", "value": "2026-03"}],
            "columns": ["日期", "地点"]}
    text = t.call(json.dumps(args, ensure_ascii=False))
    assert "2 matching row(s)" in text
    assert "日期: 2026-03-04 [A14]" in text and "日期: 2026-03-18 [A16]" in text
    (event,) = recorder.events
    labels = [c.locator["ref"] for c in event.output.citations]
    assert "training_calendar.xlsx!2026上半年!A14" in labels and "training_calendar.xlsx!2026上半年!E16" in labels
    assert all(c.kind == "table" for c in event.output.citations)


def test_tool_errors_are_messages_the_model_can_act_on(kb):
    load_sample_tables(kb)
    t, recorder = tool(kb)
    text = t.call({"question": "q", "table": "salaries"})
    assert text.startswith("Error: unknown table 'salaries'") and "training_calendar.xlsx" in text
    text = t.call({"question": "q", "table": "office_directory", "filters": {"Room": "1"}})
    assert "unknown column 'Room'" in text and "电话 Phone" in text
    assert t.call({"table": "x"}).startswith("Invalid arguments: missing required argument 'question'")
    assert "Traceback" not in "".join(e.output.text for e in recorder.events)


def test_tool_answers_facts_and_says_when_nothing_matches(kb):
    t, _ = tool(kb)
    assert "每月两次" in t.call({"question": "ESS培训每月几次？"})
    assert t.call({"question": "公司年假有几天？"}).startswith("No matching fact")


def test_cli_query_json_and_text(cli):
    result = cli("facts", "query", "--json", "ESS培训每月几次？")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["status"] == "fact" and out["facts"][0]["id"] == "ess-training-frequency"
    assert out["citations"][0]["kind"] == "fact" and "每月两次" in out["text"]
    miss = cli("facts", "query", "公司年假有几天？")
    assert miss.exit_code == 1 and "No matching fact" in miss.stdout


def test_cli_tables_load_and_filter(cli, tmp_path):
    from kb_agent.config import PROJECT_ROOT

    loaded = cli("facts", "load-tables", str(PROJECT_ROOT / "sample_kb" / "tables"))
    assert loaded.exit_code == 0 and "header on row 4+5" in loaded.stdout
    result = cli("facts", "query", "x", "--table", "office_directory", "-f", "城市=深圳", "-c", "电话", "--json")
    out = json.loads(result.stdout)
    assert [c["citation"] for r in out["table"]["rows"] for c in r["cells"]] == ["office_directory.xlsx!办公室!F6"]

    # An aggregate: the sum of the training seats per format, against the rows listed by the CLI itself.
    rows = json.loads(cli("facts", "query", "x", "--table", "training_calendar", "--json").stdout)["table"]["rows"]
    expected: dict[str, float] = {}
    for r in rows:
        cells = {c["column"]: c["value"] for c in r["cells"]}
        expected[cells["形式"]] = expected.get(cells["形式"], 0) + float(cells["名额"])
    got = cli("facts", "query", "x", "--table", "training_calendar", "-a", "sum:名额", "-g", "形式", "--json")
    agg = json.loads(got.stdout)["aggregate"]
    assert {g["group"]["形式"]: g["value"] for g in agg["groups"]} == expected
    assert agg["rows_used"] == len(rows) and agg["citation"].startswith("training_calendar.xlsx!2026上半年!")
    bad = cli("facts", "query", "x", "--table", "training_calendar", "-a", "sum:讲师")
    assert bad.exit_code != 0 and "Number columns: 名额" in bad.output


def test_cli_validate_reports_file_line_field(cli, tmp_path):
    facts = tmp_path / "myfacts"
    facts.mkdir()
    (facts / "a.yaml").write_text("facts:\n  - id: a\n    questions: [Q]\n    answer: A\n    source: {person: X}\n"
                                  "    valid_from: not-a-date\n", encoding="utf-8")
    result = cli("facts", "validate", env={"KB_AGENT_FACTS__DIR": str(facts)})
    assert result.exit_code == 1
    assert "a.yaml:6: field 'valid_from':" in result.stderr
    ok = cli("facts", "validate")
    assert ok.exit_code == 0 and "0 issue(s)" in ok.stdout


def test_cli_load_tables_honours_folder_access_groups(cli, tmp_path, make_settings):
    import shutil

    from kb_agent.access import EMPLOYEE, Principal
    from kb_agent.config import PROJECT_ROOT
    from kb_agent.kb import KnowledgeBase

    root = tmp_path / "sheets"
    (root / "hr").mkdir(parents=True)
    (root / "hr" / "_access.yaml").write_text("groups: [hr]\n", encoding="utf-8")
    shutil.copy(PROJECT_ROOT / "sample_kb" / "tables" / "office_directory.xlsx", root / "hr" / "offices.xlsx")
    assert cli("facts", "load-tables", str(root)).exit_code == 0
    kb = KnowledgeBase(make_settings())
    assert not any("offices" in line for line in kb.fact_tables(EMPLOYEE))
    assert any("offices" in line for line in kb.fact_tables(Principal("hana", frozenset({"everyone", "hr"}))))


def test_cli_load_tables_gives_links_their_targets_groups_and_refuses_links_out(cli, tmp_path, make_settings):
    """A link in a public folder to a restricted sheet keeps the sheet's groups; a link to a sheet
    outside the folder is refused (it used to be loaded for everyone)."""
    import shutil

    from kb_agent.access import EMPLOYEE, LOCAL_ADMIN
    from kb_agent.config import PROJECT_ROOT
    from kb_agent.kb import KnowledgeBase

    sheet = PROJECT_ROOT / "sample_kb" / "tables" / "office_directory.xlsx"
    root = tmp_path / "sheets"
    (root / "hr").mkdir(parents=True)
    (root / "hr" / "_access.yaml").write_text("groups: [hr]\n", encoding="utf-8")
    shutil.copy(sheet, root / "hr" / "offices.xlsx")
    (root / "public_offices.xlsx").symlink_to(root / "hr" / "offices.xlsx")
    outside = tmp_path / "elsewhere.xlsx"
    shutil.copy(sheet, outside)
    (root / "outside.xlsx").symlink_to(outside)
    result = cli("facts", "load-tables", str(root))
    assert result.exit_code == 1 and "outside.xlsx: error: symlink to a file outside the ingested folder" in result.stderr
    kb = KnowledgeBase(make_settings())
    assert kb.fact_tables(EMPLOYEE) == []
    assert any("public_offices" in line for line in kb.fact_tables(LOCAL_ADMIN))


def test_cli_load_tables_fails_closed_on_blank_folder_groups(cli, tmp_path, make_settings):
    import shutil

    from kb_agent.access import LOCAL_ADMIN
    from kb_agent.config import PROJECT_ROOT
    from kb_agent.kb import KnowledgeBase

    root = tmp_path / "sheets"
    (root / "hr").mkdir(parents=True)
    (root / "hr" / "_access.yaml").write_text("groups: ['  ']\n", encoding="utf-8")
    shutil.copy(PROJECT_ROOT / "sample_kb" / "tables" / "office_directory.xlsx", root / "hr" / "offices.xlsx")
    result = cli("facts", "load-tables", str(root))
    assert result.exit_code == 1 and "hr/offices.xlsx: error: invalid _access.yaml" in result.stderr
    assert KnowledgeBase(make_settings()).facts.tables.tables(LOCAL_ADMIN) == []


def test_cli_validate_reports_an_empty_access_group_list(cli, tmp_path):
    facts = tmp_path / "myfacts"
    facts.mkdir()
    (facts / "a.yaml").write_text("facts:\n  - id: floor-price\n    questions: [Q]\n    answer: A\n"
                                  "    source: {person: X}\n    access_groups: []\n", encoding="utf-8")
    result = cli("facts", "validate", "--json", env={"KB_AGENT_FACTS__DIR": str(facts)})
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert out["facts"] == 0
    assert [(i["file"], i["line"], i["field"]) for i in out["issues"]] == [("a.yaml", 6, "access_groups")]

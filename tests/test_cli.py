"""`kb-agent glossary ...` and the console script itself."""

import json
import subprocess
import sys

import openpyxl

from tests.conftest import REPO


def test_glossary_lookup_json_contract(cli):
    result = cli("glossary", "lookup", "--json", "a.m.")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["query"] == "a.m."
    (match,) = out["matches"]
    assert {k: match[k] for k in ("term", "english", "chinese", "scope")} == {
        "term": "AM", "english": "Account Manager", "chinese": "客户经理", "scope": "销售部"}
    assert out["suggestions"] == []


def test_glossary_lookup_miss_suggests_and_exits_1(cli):
    result = cli("glossary", "lookup", "AMM")
    assert result.exit_code == 1
    assert "not in the glossary" in result.stdout and "AM" in result.stdout


def test_glossary_validate(cli, glossary_dir):
    ok = cli("glossary", "validate")
    assert ok.exit_code == 0 and "0 issue(s)" in ok.stdout
    (glossary_dir / "broken.yaml").write_text("entries:\n  - term: ZZ\n    colour: red\n", encoding="utf-8")
    bad = cli("glossary", "validate", "--json")
    assert bad.exit_code == 1
    issue = json.loads(bad.stdout)["issues"][0]
    assert (issue["file"], issue["line"], issue["field"]) == ("broken.yaml", 3, "colour")


def test_glossary_import_writes_yaml_that_is_live(cli, glossary_dir, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (("缩略语表",), (), ("序号", "缩略语", "英文全称", "中文解释"), (1, "QBR", "Quarterly Business Review", "季度业务回顾")):
        ws.append(list(row))
    wb.save(tmp_path / "abbr.xlsx")
    result = cli("glossary", "import", str(tmp_path / "abbr.xlsx"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["imported"] == 1 and report["header_row"] == 3
    assert (glossary_dir / "abbr.yaml").is_file()
    assert "Quarterly Business Review" in cli("glossary", "lookup", "QBR").stdout


def test_console_script_runs_offline(tmp_path):
    """The installed entry point works as a separate process (no in-process shortcuts)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KB_AGENT_DATA_DIR": str(tmp_path / "d")}
    out = subprocess.run([sys.executable, "-m", "kb_agent", "ask", "--json", "AM是什么意思？"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "客户经理" in json.loads(out.stdout)["answer"]
    help_text = subprocess.run([sys.executable, "-m", "kb_agent", "--help"], capture_output=True, text=True,
                               env=env, cwd=tmp_path, timeout=120).stdout
    assert "ask" in help_text and "glossary" in help_text
    assert (REPO / "run_agent.py").is_file()

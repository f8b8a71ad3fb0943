import json

import openpyxl
import pytest
import yaml

from kb_agent.errors import GlossaryError
from kb_agent.glossary.importer import import_spreadsheet
from kb_agent.glossary.loader import parse_glossary_text


def make_sheet(path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "缩略语"
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


def test_messy_company_sheet(tmp_path):
    path = make_sheet(tmp_path / "abbr.xlsx", [
        ("华印影像 公司缩略语表", None, None, None),          # title row
        (None, None, None, None),                              # blank
        ("序号", "缩略语", "英文全称", "中文解释"),              # header on row 3
        (1, "AAP", "Actual Achieved Price", "实际成交价"),
        (2, "Act.", "Actual", "实际的"),
        (None, None, None, None),                              # blank inside
        (3, "AIP", "All in Print", "中国国际印刷技术及设备器械展 (全印展)"),
        (4, None, "Orphan Name", "无缩写"),                    # no abbreviation
        (5, "XX", None, None),                                 # no meaning
        ("序号", "缩略语", "英文全称", "中文解释"),              # repeated header
        (6, "AM", "  Account   Manager ", "客户经理"),          # extra spaces
        (7, "AAP", "Actual Achieved Price", "实际成交价"),       # duplicate
        (8, 404, "Not Found", "未找到"),                        # numeric term
    ])
    result = import_spreadsheet(path)
    assert result.header_row == 3
    assert [e["term"] for e in result.entries] == ["AAP", "Act.", "AIP", "AM", "404"]
    assert result.entries[3]["english"] == "Account Manager"
    skipped = {s.row: s.reason for s in result.skipped}
    assert set(skipped) == {1, 6, 8, 9, 10, 12}     # blank rows above the header are not worth a line
    assert "no abbreviation" in skipped[8] and "duplicate" in skipped[12] and "header" in skipped[10]

    # The YAML it writes is a valid glossary file with the same entries.
    load = parse_glossary_text(result.to_yaml(), "imported.yaml")
    assert not load.issues
    assert [e.term for e in load.entries] == ["AAP", "Act.", "AIP", "AM", "404"]
    assert yaml.safe_load(result.to_yaml())["entries"][0]["chinese"] == "实际成交价"


def test_english_headers_and_extra_columns(tmp_path):
    path = make_sheet(tmp_path / "en.xlsx", [
        ("No.", "Department", "Abbreviation", "English", "Chinese"),
        (1, "Sales", "AM", "Account Manager", "客户经理"),
    ])
    result = import_spreadsheet(path)
    assert result.entries == [{"term": "AM", "english": "Account Manager", "chinese": "客户经理", "scope": "Sales"}]


def test_sheet_without_header_is_a_clear_error(tmp_path):
    path = make_sheet(tmp_path / "x.xlsx", [("a", "b"), (1, 2)])
    with pytest.raises(GlossaryError, match="缩略语"):
        import_spreadsheet(path)


def test_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(GlossaryError, match="bad.xlsx"):
        import_spreadsheet(path)


def test_import_into_the_live_glossary_skips_entries_it_already_has(cli, glossary_dir, tmp_path):
    """KPI is already in general.yaml: the import adds QBR and reports KPI with its place, and the
    glossary stays free of duplicates (the console's import does the same through the store)."""
    sheet = make_sheet(tmp_path / "abbreviations.xlsx", [
        ("序号", "缩略语", "英文全称", "中文解释"),
        (1, "QBR", "Quarterly Business Review", "季度业务回顾"),
        (2, "KPI", "Key Performance Indicator", "关键绩效指标"),
    ])
    result = cli("glossary", "import", str(sheet), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["imported"] == 1
    assert report["skipped"] == [{"row": 3, "reason": "'KPI' is already in the glossary (general.yaml:47)"}]
    written = yaml.safe_load((glossary_dir / "abbreviations.yaml").read_text(encoding="utf-8"))
    assert [e["term"] for e in written["entries"]] == ["QBR"]
    validate = cli("glossary", "validate")
    assert validate.exit_code == 0 and "duplicate" not in validate.output, validate.output

"""Fact YAML validation: precise file/line/field issues; one bad fact never stops the others."""

from __future__ import annotations

from datetime import date

from kb_agent.config import PROJECT_ROOT
from kb_agent.facts.loader import load_fact_file, parse_facts_text

GOOD = """\
facts:
  - id: ess-frequency
    questions: [ESS培训每月几次？]
    answer: {zh: 每月两次。, en: Twice a month.}
    source: {document: hr/ess.pdf, locator: p. 1}
    owner: HR
    valid_from: 2026-01-05
"""


def test_sample_facts_are_valid():
    loaded = load_fact_file(PROJECT_ROOT / "facts" / "company.yaml")
    assert loaded.issues == ()
    assert len(loaded.facts) >= 10
    ess = next(f for f in loaded.facts if f.id == "ess-training-frequency")
    assert "每月两次" in ess.answer_for("ESS培训每月几次？")
    assert "twice a month" in ess.answer_for("How often is ESS training?")


def test_good_fact_fields():
    loaded = parse_facts_text(GOOD, "hr.yaml")
    assert loaded.issues == ()
    (fact,) = loaded.facts
    assert fact.id == "ess-frequency" and fact.line == 2 and fact.file == "hr.yaml"
    assert fact.valid_from == date(2026, 1, 5) and fact.valid_to is None
    assert fact.source.label() == "hr/ess.pdf (p. 1)"
    assert fact.access_groups == ("everyone",)


def test_bad_yaml_names_the_line():
    loaded = parse_facts_text("facts:\n  - id: x\n    questions: [a, b\n", "bad.yaml")
    assert loaded.fatal
    (issue,) = loaded.issues
    assert issue.file == "bad.yaml" and issue.line is not None and "YAML" in issue.message


def test_field_errors_have_line_and_field_and_the_rest_loads():
    text = """\
facts:
  - id: ok-one
    questions: [Q1]
    answer: A1
    source: {person: Li Na}
  - id: no answer
    questions: [Q2]
    source: {person: Li Na}
  - id: bad-dates
    questions: [Q3]
    answer: A3
    source: {document: x.pdf}
    valid_from: 2026-05-01
    valid_to: 2026-01-01
  - id: bad-source
    questions: [Q4]
    answer: A4
    source: {locator: p. 3}
  - id: extra
    questions: [Q5]
    answer: A5
    source: {person: X}
    colour: blue
  - id: bad-lang
    questions: [Q6]
    answer: {fr: bonjour}
    source: {person: X}
  - just a string
"""
    loaded = parse_facts_text(text, "mixed.yaml")
    assert [f.id for f in loaded.facts] == ["ok-one"]
    by_field = {(i.field or "").split(".")[0]: i for i in loaded.issues}
    assert by_field["id"].line == 6 and "no spaces" in by_field["id"].message
    assert "answer" in by_field  # missing answer on the fact with the bad id, or the bad language
    dates = next(i for i in loaded.issues if "valid_to" in i.message)
    assert dates.line == 14 and dates.field == "valid_to"
    source = next(i for i in loaded.issues if i.field and i.field.startswith("source"))
    assert source.line == 18 and "document" in source.message
    extra = next(i for i in loaded.issues if i.field == "colour")
    assert extra.line == 23 and extra.message == "unknown field (fact 'extra')"
    lang = next(i for i in loaded.issues if "languages" in i.message)
    assert lang.line == 26
    assert any(i.line == 28 and "mapping" in i.message for i in loaded.issues)
    assert all(str(i).startswith("mixed.yaml:") for i in loaded.issues)


def test_wrong_top_level_shape():
    loaded = parse_facts_text("entries:\n  - id: x\n", "g.yaml")
    assert loaded.fatal and loaded.issues[0].field == "entries"
    assert parse_facts_text("facts: 3\n", "n.yaml").issues[0].message == "expected a list under `facts`"
    assert parse_facts_text("", "empty.yaml").issues == ()


def _with_groups(line: str) -> str:
    return GOOD + line


def test_empty_or_blank_access_groups_are_errors_and_the_fact_is_not_served():
    # An empty list, YAML null, or blank names once opened a restricted fact to every employee.
    for groups in ("access_groups: []", "access_groups:", "access_groups: ['']", "access_groups: ['  ']",
                   "access_groups: [finance, '']", "access_groups: ''"):
        loaded = parse_facts_text(_with_groups(f"    {groups}\n"), "hr.yaml")
        assert loaded.facts == (), groups
        (issue,) = loaded.issues
        assert (issue.file, issue.field) == ("hr.yaml", "access_groups"), groups
        assert issue.line in (8, 9), groups   # the field's line (a null value sits at the end)
        assert "non-empty list of group names" in issue.message and "ess-frequency" in issue.message


def test_access_groups_left_out_default_to_everyone_and_names_are_trimmed():
    assert parse_facts_text(GOOD, "hr.yaml").facts[0].access_groups == ("everyone",)
    (fact,) = parse_facts_text(_with_groups("    access_groups: [' finance ', hr]\n"), "hr.yaml").facts
    assert fact.access_groups == ("finance", "hr")
    (fact,) = parse_facts_text(_with_groups("    access_groups: finance\n"), "hr.yaml").facts
    assert fact.access_groups == ("finance",)


def test_duplicate_keys_in_a_fact_are_errors_with_line_and_field():
    text = GOOD + "    access_groups: [finance]\n    access_groups: [everyone]\n"
    loaded = parse_facts_text(text, "hr.yaml")
    assert loaded.facts == ()          # never served with whichever group list YAML kept last
    (issue,) = loaded.issues
    assert (issue.line, issue.field) == (9, "access_groups") and "first on line 8" in issue.message
    nested = parse_facts_text(GOOD.replace("{zh: 每月两次。, en: Twice a month.}", "{zh: 每月两次。, zh: 每月三次。}"),
                              "hr.yaml")
    (issue,) = nested.issues
    assert (issue.line, issue.field) == (4, "answer.zh") and "duplicate key `zh`" in issue.message

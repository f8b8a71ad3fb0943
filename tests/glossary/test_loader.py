from kb_agent.glossary.loader import parse_glossary_text

GOOD = """\
entries:
  - term: AM
    english: Account Manager
    chinese: 客户经理
    aliases: A.M.
    updated: 2025-08-01
"""


def test_good_file_loads_with_line_numbers():
    load = parse_glossary_text(GOOD, "a.yaml")
    assert not load.issues and not load.fatal
    (entry,) = load.entries
    assert (entry.term, entry.english, entry.chinese, entry.aliases) == ("AM", "Account Manager", "客户经理", ("A.M.",))
    assert entry.updated.isoformat() == "2025-08-01"
    assert (entry.source_file, entry.line) == ("a.yaml", 2)


def test_bare_list_is_accepted():
    load = parse_glossary_text("- term: QA\n  english: Quality Assurance\n", "b.yaml")
    assert [e.term for e in load.entries] == ["QA"]


def test_bad_entries_are_reported_with_line_and_field_and_good_ones_still_load():
    text = """\
entries:
  - term: AM
    english: Account Manager
  - term: X1
    english: Something
    updated: next tuesday
  - term: X2
    chinese: 某物
    colour: red
  - term: X3
  - just a string
  - term: AAP
    chinese: 实际成交价
"""
    load = parse_glossary_text(text, "c.yaml")
    assert [e.term for e in load.entries] == ["AM", "AAP"]
    issues = {(i.line, i.field) for i in load.issues}
    assert (6, "updated") in issues
    assert (9, "colour") in issues
    assert (10, None) in issues   # X3 has no meaning
    assert (11, None) in issues   # not a mapping
    assert all(i.file == "c.yaml" for i in load.issues)
    assert "6" in str(load.issues[0]) and "updated" in str(load.issues[0])


def test_syntax_error_is_fatal_with_line():
    load = parse_glossary_text("entries:\n  - term: AM\n    english: [unclosed\n", "d.yaml")
    assert load.fatal and not load.entries
    assert load.issues[0].line is not None and "YAML" in load.issues[0].message


def test_unknown_top_level_key_is_fatal():
    load = parse_glossary_text("terms:\n  - term: AM\n", "e.yaml")
    assert load.fatal and load.issues[0].field == "terms"


def test_a_key_repeated_in_an_entry_is_reported_not_silently_last_wins():
    text = """\
entries:
  - term: AM
    english: Account Manager
    term: AX
  - term: QA
    english: Quality Assurance
"""
    load = parse_glossary_text(text, "dup.yaml")
    assert [e.term for e in load.entries] == ["QA"]          # the ambiguous entry is not served
    (issue,) = load.issues
    assert (issue.file, issue.line, issue.field) == ("dup.yaml", 4, "term")
    assert "duplicate key `term` (first on line 2)" in issue.message


def test_a_repeated_top_level_key_is_fatal():
    load = parse_glossary_text("entries:\n  - term: AM\n    english: A\nentries:\n  - term: QA\n    english: Q\n",
                               "top.yaml")
    assert load.fatal and not load.entries
    (issue,) = load.issues
    assert (issue.line, issue.field) == (4, "entries") and "first on line 1" in issue.message


def test_the_shared_safe_load_rejects_duplicate_keys_with_their_line():
    import pytest
    import yaml

    from kb_agent.yamlsource import DuplicateKeyError, safe_load

    assert safe_load("groups: [hr]\n") == {"groups": ["hr"]}
    assert safe_load("base: &b {x: 1}\nmore:\n  <<: *b\n  x: 2\n") == {"base": {"x": 1}, "more": {"x": 2}}
    with pytest.raises(DuplicateKeyError) as err:
        safe_load("groups: [hr]\nowner: x\ngroups: [everyone]\n")
    assert isinstance(err.value, yaml.YAMLError) and err.value.problem_mark.line + 1 == 3
    assert err.value.key == "groups" and "first on line 1" in str(err.value)

"""_access.yaml is read strictly: a repeated key is an error (PyYAML keeps the last silently, so
`groups: [finance]` followed by `groups: [everyone]` would open a restricted folder)."""

from kb_agent.ingest.walk import AccessResolver


def test_a_repeated_groups_key_fails_the_folder_closed(tmp_path):
    folder = tmp_path / "finance"
    folder.mkdir()
    (folder / "_access.yaml").write_text("groups: [finance]\ngroups: [everyone]\n", encoding="utf-8")
    groups, error = AccessResolver().groups_for(folder / "prices.md", tmp_path)
    assert groups == () and "_access.yaml:2" in error


def test_a_plain_access_file_gives_its_groups(tmp_path):
    (tmp_path / "_access.yaml").write_text("groups: [finance, board]\n", encoding="utf-8")
    assert AccessResolver().groups_for(tmp_path / "x.md", tmp_path) == (("finance", "board"), None)

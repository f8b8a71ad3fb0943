import os

from kb_agent.glossary.store import GlossaryStore

A = "entries:\n  - term: AM\n    english: Account Manager\n    chinese: 客户经理\n"
B = "entries:\n  - term: QA\n    english: Quality Assurance\n"


def write(path, text):
    path.write_text(text, encoding="utf-8")
    # Make sure the signature changes even on coarse-mtime file systems.
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_loads_all_files_and_reloads_on_change(tmp_path):
    write(tmp_path / "a.yaml", A)
    write(tmp_path / "b.yml", B)
    store = GlossaryStore(tmp_path, reload_check_s=0)
    assert store.current().lookup("QA").found and store.current().lookup("AM").found

    write(tmp_path / "b.yml", B.replace("Quality Assurance", "Quality Audit"))
    assert store.current().lookup("QA").matches[0].english == "Quality Audit"

    (tmp_path / "b.yml").unlink()
    assert not store.current().lookup("QA").found


def test_broken_edit_keeps_last_good_version_live_with_precise_error(tmp_path):
    write(tmp_path / "a.yaml", A)
    write(tmp_path / "b.yaml", B)
    store = GlossaryStore(tmp_path, reload_check_s=0)

    write(tmp_path / "a.yaml", "entries:\n  - term: AM\n    english: [broken\n")   # syntax error
    g = store.current()
    assert g.lookup("AM").matches[0].chinese == "客户经理"      # last good version still served
    assert g.lookup("QA").found                                 # other files unaffected
    (issue,) = store.issues
    assert issue.file == "a.yaml" and issue.line == 4 and issue.kept_previous
    assert "line 3" in issue.message      # where the unclosed [ started
    assert "last good version" in str(issue)

    write(tmp_path / "a.yaml", A + "  - term: BAD\n    updated: soon\n")             # entry-level error
    g = store.current()
    assert g.lookup("AM").found and not g.lookup("BAD").found
    assert any(i.field == "updated" and i.line == 6 for i in store.issues)

    write(tmp_path / "a.yaml", A.replace("客户经理", "大客户经理"))                    # fixed
    assert store.current().lookup("AM").matches[0].chinese == "大客户经理"
    assert store.issues == ()


def test_first_load_of_a_partly_broken_file_serves_its_valid_entries(tmp_path):
    write(tmp_path / "a.yaml", A + "  - term: NOPE\n")
    store = GlossaryStore(tmp_path, reload_check_s=0)
    assert store.current().lookup("AM").found
    assert store.issues[0].line == 5


def test_reload_check_is_throttled(tmp_path):
    write(tmp_path / "a.yaml", A)
    store = GlossaryStore(tmp_path, reload_check_s=3600)
    store.current()
    write(tmp_path / "b.yaml", B)
    assert not store.current().lookup("QA").found       # not checked yet
    store.reload()
    assert store.current().lookup("QA").found


def test_save_file_validates_before_writing(tmp_path):
    write(tmp_path / "a.yaml", A)
    store = GlossaryStore(tmp_path, reload_check_s=0)
    issues = store.save_file("a.yaml", "entries:\n  - term: AM\n    colour: red\n")
    assert issues and issues[0].field == "colour"
    assert (tmp_path / "a.yaml").read_text(encoding="utf-8") == A     # refused: file untouched
    assert store.save_file("a.yaml", B) == ()
    assert store.current().lookup("QA").found and not store.current().lookup("AM").found


def test_missing_directory_is_an_empty_glossary(tmp_path):
    store = GlossaryStore(tmp_path / "nope")
    assert len(store.current()) == 0 and store.issues == ()

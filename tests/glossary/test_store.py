import os

from kb_agent.glossary.store import GlossaryStore

A = "entries:\n  - term: AM\n    english: Account Manager\n    chinese: 客户经理\n"
B = "entries:\n  - term: QA\n    english: Quality Assurance\n"


def write(path, text):
    path.write_text(text, encoding="utf-8")
    # Make sure the signature changes even on coarse-mtime file systems.
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def settled(store):
    """What lookups see once the change noticed by ``current()`` has loaded in the background."""
    store.current()
    assert store.wait_reloaded(10)
    return store.current()


def test_loads_all_files_and_reloads_on_change(tmp_path):
    write(tmp_path / "a.yaml", A)
    write(tmp_path / "b.yml", B)
    store = GlossaryStore(tmp_path, reload_check_s=0)
    assert store.current().lookup("QA").found and store.current().lookup("AM").found

    write(tmp_path / "b.yml", B.replace("Quality Assurance", "Quality Audit"))
    assert settled(store).lookup("QA").matches[0].english == "Quality Audit"

    (tmp_path / "b.yml").unlink()
    assert not settled(store).lookup("QA").found


def test_broken_edit_keeps_last_good_version_live_with_precise_error(tmp_path):
    write(tmp_path / "a.yaml", A)
    write(tmp_path / "b.yaml", B)
    store = GlossaryStore(tmp_path, reload_check_s=0)

    write(tmp_path / "a.yaml", "entries:\n  - term: AM\n    english: [broken\n")   # syntax error
    g = settled(store)
    assert g.lookup("AM").matches[0].chinese == "客户经理"      # last good version still served
    assert g.lookup("QA").found                                 # other files unaffected
    (issue,) = store.issues
    assert issue.file == "a.yaml" and issue.line == 4 and issue.kept_previous
    assert "line 3" in issue.message      # where the unclosed [ started
    assert "last good version" in str(issue)

    write(tmp_path / "a.yaml", A + "  - term: BAD\n    updated: soon\n")             # entry-level error
    g = settled(store)
    assert g.lookup("AM").found and not g.lookup("BAD").found
    assert any(i.field == "updated" and i.line == 6 for i in store.issues)

    write(tmp_path / "a.yaml", A.replace("客户经理", "大客户经理"))                    # fixed
    assert settled(store).lookup("AM").matches[0].chinese == "大客户经理"
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


def gated_loader(root):
    """The real file loader behind a gate: once ``slow`` is set, a reload waits at the gate."""
    import threading

    from kb_agent.glossary.loader import load_glossary_file

    entered, gate, slow = threading.Event(), threading.Event(), threading.Event()

    def load(path):
        if slow.is_set():
            entered.set()
            gate.wait(30)
        return load_glossary_file(path, root)

    return load, entered, gate, slow


def test_lookups_during_a_slow_reload_get_the_old_version_at_once(tmp_path):
    import time

    write(tmp_path / "a.yaml", A)
    load, entered, gate, slow = gated_loader(tmp_path)
    store = GlossaryStore(tmp_path, reload_check_s=0, load_file=load)
    slow.set()
    write(tmp_path / "a.yaml", A.replace("客户经理", "大客户经理"))
    started = time.monotonic()
    first = store.current()                 # notices the change, starts the reload beside
    assert entered.wait(10)                 # the reload is now parsing (held at the gate)
    during = store.current().lookup("AM")
    assert time.monotonic() - started < 5   # the gate holds for 30 s: nobody waited for it
    assert first.lookup("AM").matches[0].chinese == "客户经理"
    assert during.matches[0].chinese == "客户经理"
    gate.set()
    assert store.wait_reloaded(10)
    assert store.current().lookup("AM").matches[0].chinese == "大客户经理"


def test_a_file_over_the_size_limit_is_refused_by_stat_before_it_is_read(tmp_path):
    write(tmp_path / "a.yaml", A)
    write(tmp_path / "b.yaml", B)
    store = GlossaryStore(tmp_path, reload_check_s=0, max_file_mb=0.001)     # 1048 bytes
    assert store.current().lookup("QA").found
    # Over the limit and not even UTF-8: a size error, so the file was never read.
    (tmp_path / "b.yaml").write_bytes(B.encode() + b"# " + b"x" * 2000 + b"\xff\n")
    issues = store.reload()
    (issue,) = issues
    assert issue.file == "b.yaml" and issue.kept_previous
    assert "over the limit of 0.001 MB" in issue.message and "glossary.max_file_mb" in issue.message
    assert store.current().lookup("QA").found and store.current().lookup("AM").found   # last good kept
    # The console's editor is held to the same limit.
    (issue,) = store.validate_text(B + "#" * 2000, "b.yaml")
    assert issue.file == "b.yaml" and "over the limit" in issue.message
    assert store.save_file("b.yaml", B + "#" * 2000)                       # refused, file untouched
    assert (tmp_path / "b.yaml").read_bytes().endswith(b"x\xff\n")


def test_max_file_mb_setting_reaches_the_glossary(make_settings, glossary_dir):
    from kb_agent.kb import KnowledgeBase

    (glossary_dir / "big.yaml").write_text(B + "#" * 6000, encoding="utf-8")
    kb = KnowledgeBase(make_settings(glossary={"max_file_mb": 0.005}))
    assert any(i.file == "big.yaml" and "glossary.max_file_mb" in i.message for i in kb.glossary_store.issues)
    assert kb.glossary.entries and all(e.source_file != "big.yaml" for e in kb.glossary.entries)


def test_the_editor_opens_files_within_the_limit_and_refuses_larger_ones_unread(tmp_path):
    write(tmp_path / "a.yaml", A)
    (tmp_path / "big.yaml").write_bytes(b"#" * 3000 + b"\xff")
    store = GlossaryStore(tmp_path, reload_check_s=0, max_file_mb=0.002)
    assert store.read_for_edit("a.yaml") == (A, ())
    text, (issue,) = store.read_for_edit("big.yaml")
    assert text == "" and issue.file == "big.yaml" and "over the limit of 0.002 MB" in issue.message
    text, (issue,) = store.read_for_edit("../a.yaml")
    assert text == "" and "not a glossary file" in issue.message


def test_cli_validate_names_the_file_and_the_limit(cli, glossary_dir):
    (glossary_dir / "big.yaml").write_text(B + "#" * 6000, encoding="utf-8")
    result = cli("glossary", "validate", env={"KB_AGENT_GLOSSARY__MAX_FILE_MB": "0.005"})
    assert result.exit_code == 1
    assert "big.yaml: file is 6,0" in result.stderr and "glossary.max_file_mb" in result.stderr


def test_exact_duplicate_entries_are_reported_with_both_lines_and_served_once(tmp_path):
    dup = A + "  - term: am\n    english: account manager\n    chinese: 客户经理\n"
    scoped = ("entries:\n  - term: PM\n    english: Project Manager\n    scope: 项目部\n"
              "  - term: PM\n    english: Product Manager\n    scope: 产品部\n")
    write(tmp_path / "a.yaml", dup)
    write(tmp_path / "p.yaml", scoped)
    store = GlossaryStore(tmp_path, reload_check_s=0)
    assert len(store.current().lookup("AM").matches) == 1 and len(store.current().lookup("PM").matches) == 2
    (issue,) = store.issues
    assert (issue.file, issue.line, issue.field) == ("a.yaml", 5, "term")
    assert "duplicate of the entry at a.yaml:2" in issue.message
    # The editor's check (validate before save) names it too, also against the other files.
    assert [(i.line, i.field) for i in store.validate_text(dup, "a.yaml")] == [(5, "term")]
    (issue,) = store.validate_text(scoped.replace("产品部", "项目部").replace("Product", "Project"), "p.yaml")
    assert issue.line == 5 and "p.yaml:2" in issue.message
    (issue,) = store.validate_text(A, "new.yaml")
    assert issue.file == "new.yaml" and issue.line == 2 and "a.yaml:2" in issue.message
    assert store.save_file("new.yaml", A) and not (tmp_path / "new.yaml").exists()


def test_a_change_rereads_only_the_changed_files(tmp_path):
    from kb_agent.glossary.loader import load_glossary_file

    loaded = []

    def load(path):
        loaded.append(path.name)
        return load_glossary_file(path, tmp_path)

    write(tmp_path / "a.yaml", A)
    write(tmp_path / "b.yaml", B)
    store = GlossaryStore(tmp_path, reload_check_s=0, load_file=load)
    write(tmp_path / "a.yaml", "entries:\n  - term: AM\n    english: [broken\n")
    g = settled(store)
    write(tmp_path / "b.yaml", B.replace("Quality Assurance", "Quality Audit"))
    g = settled(store)
    assert loaded == ["a.yaml", "b.yaml", "a.yaml", "b.yaml"]
    assert g.lookup("AM").matches[0].chinese == "客户经理" and g.lookup("QA").matches[0].english == "Quality Audit"
    assert [(i.file, i.kept_previous) for i in store.issues] == [("a.yaml", True)]   # still reported
    store.reload()                                   # an explicit reload (validate) reads everything
    assert loaded[4:] == ["a.yaml", "b.yaml"]

"""The live fact set: conflicts, last good version kept, reload on change."""

from __future__ import annotations

import os
import time

from kb_agent.facts.store import FactStore

BASE = """\
facts:
  - id: hotel-cap
    questions: [出差住宿标准是多少？]
    answer: 一线城市每晚600元。
    source: {document: policies/expense_policy.md}
    valid_from: 2025-01-01
"""


def write(path, text):
    path.write_text(text, encoding="utf-8")
    st = path.stat()  # make sure the signature changes even within one mtime tick
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def test_duplicate_ids_are_conflicts_and_the_first_wins(tmp_path):
    write(tmp_path / "a.yaml", BASE)
    write(tmp_path / "b.yaml", BASE.replace("一线城市每晚600元。", "每晚500元。"))
    store = FactStore(tmp_path, reload_check_s=0)
    assert [f.file for f in store.facts] == ["a.yaml"]
    (issue,) = store.issues
    assert issue.kind == "conflict" and issue.file == "b.yaml" and issue.line == 2 and issue.field == "id"
    assert "a.yaml:2" in issue.message


def test_same_question_different_answer_is_a_conflict_only_when_validity_overlaps(tmp_path):
    other = BASE.replace("hotel-cap", "hotel-cap-new").replace("一线城市每晚600元。", "一线城市每晚700元。")
    write(tmp_path / "a.yaml", BASE)
    write(tmp_path / "b.yaml", other.replace("2025-01-01", "2025-06-01"))
    store = FactStore(tmp_path, reload_check_s=0)
    assert len(store.facts) == 2
    (issue,) = store.issues
    assert issue.kind == "conflict" and "hotel-cap" in issue.message and "hotel-cap-new" in issue.message
    assert store.conflicts == {frozenset({"hotel-cap", "hotel-cap-new"})}
    # The old one ends before the new one starts: a renewal, not a conflict.
    write(tmp_path / "a.yaml", BASE.replace("    valid_from: 2025-01-01\n",
                                            "    valid_from: 2025-01-01\n    valid_to: 2025-05-31\n"))
    store.reload()
    assert store.issues == () and store.conflicts == set()


def test_broken_edit_keeps_last_good_version_live(tmp_path):
    path = tmp_path / "a.yaml"
    write(path, BASE)
    store = FactStore(tmp_path, reload_check_s=0)
    assert store.issues == ()
    write(path, BASE + "  - id: [oops\n")
    store.current()                      # notices the edit; it loads in the background
    assert store.wait_reloaded(10)
    facts = store.current()
    assert [f.id for f in facts] == ["hotel-cap"]
    assert store.issues and all(i.kept_previous for i in store.issues)
    assert "last good version" in str(store.issues[0])
    write(path, BASE.replace("600", "650"))
    store.current()
    assert store.wait_reloaded(10)
    assert "650" in store.current()[0].answer_for("出差住宿标准是多少？")
    assert store.issues == ()


def test_validate_text_reports_conflicts_with_other_files(tmp_path):
    write(tmp_path / "a.yaml", BASE)
    store = FactStore(tmp_path, reload_check_s=0)
    issues = store.validate_text(BASE.replace("600", "800"), "new.yaml")
    assert any(i.kind == "conflict" and i.field == "id" for i in issues)


def test_an_edit_that_empties_access_groups_keeps_the_restricted_version_live(tmp_path):
    restricted = BASE + "    access_groups: [finance]\n"
    write(tmp_path / "a.yaml", restricted)
    store = FactStore(tmp_path, reload_check_s=0)
    assert store.facts[0].access_groups == ("finance",)
    write(tmp_path / "a.yaml", BASE + "    access_groups: []\n")
    issues = store.reload()
    assert [f.access_groups for f in store.facts] == [("finance",)]      # never opened to everyone
    (issue,) = issues
    assert issue.field == "access_groups" and issue.line == 7 and issue.kept_previous


def test_fact_lookups_during_a_slow_reload_use_the_current_version(tmp_path):
    import threading

    from kb_agent.facts.loader import load_fact_file

    entered, gate, slow = threading.Event(), threading.Event(), threading.Event()

    def load(path):
        if slow.is_set():
            entered.set()
            gate.wait(30)
        return load_fact_file(path, tmp_path)

    write(tmp_path / "a.yaml", BASE)
    store = FactStore(tmp_path, reload_check_s=0, load_file=load)
    version = store.snapshot().version
    slow.set()
    write(tmp_path / "a.yaml", BASE.replace("600", "650"))
    started = time.monotonic()
    assert "600" in store.current()[0].answer_for("出差住宿标准是多少？")
    assert entered.wait(10)
    assert "600" in store.current()[0].answer_for("出差住宿标准是多少？")
    assert store.snapshot().version == version and time.monotonic() - started < 5
    gate.set()
    assert store.wait_reloaded(10)
    snap = store.snapshot()
    assert snap.version > version and "650" in snap.facts[0].answer_for("出差住宿标准是多少？")


def test_a_fact_file_over_the_size_limit_is_an_error_naming_file_and_limit(tmp_path):
    write(tmp_path / "a.yaml", BASE + "#" * 3000 + "\n")
    store = FactStore(tmp_path, reload_check_s=0, max_file_mb=0.002)
    assert store.facts == ()
    (issue,) = store.issues
    assert issue.file == "a.yaml" and issue.line is None
    assert "over the limit of 0.002 MB" in issue.message and "facts.max_file_mb" in issue.message
    (issue,) = store.validate_text(BASE + "#" * 3000, "b.yaml")
    assert issue.file == "b.yaml" and "over the limit" in issue.message

"""Symbolic links never carry content past access groups: a link inside the ingested folder
is indexed with its target's own groups, anything else a link points at is refused with a
report line. Real links on a real folder, real worker processes, a real store."""

from __future__ import annotations

import os

import pytest

from kb_agent.config import IngestSettings
from kb_agent.ingest.pipeline import Ingestor
from kb_agent.store.chunks import ChunkStore
from tests.ingest.helpers import HashEmbedder


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "kb"
    (root / "public").mkdir(parents=True)
    (root / "finance").mkdir()
    (root / "finance" / "_access.yaml").write_text("groups: [finance]\n", encoding="utf-8")
    (root / "finance" / "floor.md").write_text("# 底价\n底价是标价的 82%。\n", encoding="utf-8")
    (root / "public" / "hello.md").write_text("# Hello\nWelcome aboard.\n", encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd.txt").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    return root, outside


def run(store, paths, **settings):
    settings.setdefault("workers", 1)
    return Ingestor(store, HashEmbedder(), IngestSettings(**settings)).run(paths)


def lines(report):
    return {f.path: (f.status, f.reason) for f in report.files}


def groups_of(store, source):
    return {c.access_groups for _, c in store.iter_chunks() if c.source == source}


def test_link_into_a_restricted_folder_keeps_the_targets_groups(tmp_path, tree):
    root, _ = tree
    os.symlink(root / "finance" / "floor.md", root / "public" / "floor_link.md")
    store = ChunkStore(tmp_path / "kb.sqlite3")
    got = lines(run(store, [root]))
    assert got["public/floor_link.md"][0] == "ok"
    assert groups_of(store, "public/floor_link.md") == {("finance",)}  # not the public folder's everyone
    rec = store.source("public/floor_link.md")
    assert rec.access_groups == ("finance",) and rec.real_path == str(root / "finance" / "floor.md")


def test_link_ingested_alone_from_a_public_subfolder_keeps_the_targets_groups(tmp_path, tree):
    root, _ = tree
    os.symlink(root / "finance" / "floor.md", root / "public" / "floor_link.md")
    store = ChunkStore(tmp_path / "kb.sqlite3")
    run(store, [root])
    got = lines(run(store, [root / "public"]))   # the known root kb/ is kept: target inside it
    assert got["public/floor_link.md"][0] == "unchanged"
    assert groups_of(store, "public/floor_link.md") == {("finance",)}


def test_links_out_of_the_ingested_folder_dangling_or_looping_are_refused(tmp_path, tree):
    root, outside = tree
    pub = root / "public"
    os.symlink(outside / "passwd.txt", pub / "passwd.txt")
    os.symlink("/etc/passwd", pub / "etc_passwd.txt")
    os.symlink(pub / "nowhere.md", pub / "dangling.md")
    os.symlink(pub / "loop_b.md", pub / "loop_a.md")
    os.symlink(pub / "loop_a.md", pub / "loop_b.md")
    (root / ".private").mkdir()
    (root / ".private" / "keys.txt").write_text("secret key material", encoding="utf-8")
    os.symlink(root / ".private" / "keys.txt", pub / "keys.txt")
    store = ChunkStore(tmp_path / "kb.sqlite3")
    got = lines(run(store, [root]))
    assert got["public/passwd.txt"] == ("skipped", "symlink to a file outside the ingested folder")
    assert got["public/etc_passwd.txt"] == ("skipped", "symlink to a file outside the ingested folder")
    assert got["public/dangling.md"] == ("skipped", "dangling symlink (its target does not exist)")
    assert got["public/loop_a.md"] == ("skipped", "symlink loop")
    assert got["public/keys.txt"] == ("skipped", "symlink to a hidden file")
    assert got["public/hello.md"][0] == "ok"
    texts = " ".join(c.text for _, c in store.iter_chunks())
    assert "root:x:0:0" not in texts and "secret key" not in texts
    assert {r.path for r in store.sources()} == {"public/hello.md", "finance/floor.md"}


def test_a_link_named_on_the_command_line_is_checked_like_a_walked_one(tmp_path, tree):
    root, outside = tree
    run(store := ChunkStore(tmp_path / "kb.sqlite3"), [root])
    os.symlink(outside / "passwd.txt", root / "public" / "pw.txt")
    got = lines(run(store, [root / "public" / "pw.txt"]))
    assert got == {"public/pw.txt": ("skipped", "symlink to a file outside the ingested folder")}
    assert "root:x:0:0" not in " ".join(c.text for _, c in store.iter_chunks())


def test_linked_folders_get_a_report_line_and_are_not_followed(tmp_path, tree):
    root, outside = tree
    os.symlink(outside, root / "public" / "out_dir")
    os.symlink(root / "finance", root / "public" / "fin_dir")
    store = ChunkStore(tmp_path / "kb.sqlite3")
    got = lines(run(store, [root]))
    assert got["public/out_dir"] == ("skipped", "symlink to a folder outside the ingested folder (not followed)")
    assert got["public/fin_dir"] == ("skipped", "symlink to folder finance (not followed; its files are "
                                                "ingested under their own path)")
    assert not [s for s in (r.path for r in store.sources()) if "_dir/" in s]


def test_a_file_replaced_by_a_link_is_reindexed_with_the_targets_groups(tmp_path, tree):
    root, outside = tree
    store = ChunkStore(tmp_path / "kb.sqlite3")
    run(store, [root])
    hello = root / "public" / "hello.md"
    hello.unlink()
    os.symlink(root / "finance" / "floor.md", hello)
    assert lines(run(store, [root]))["public/hello.md"][0] == "ok"
    assert groups_of(store, "public/hello.md") == {("finance",)}
    hello.unlink()
    os.symlink(outside / "passwd.txt", hello)
    rep = run(store, [root])
    assert lines(rep)["public/hello.md"][0] == "skipped" and rep.removed == ["public/hello.md"]
    assert not groups_of(store, "public/hello.md") and store.integrity_problems() == []

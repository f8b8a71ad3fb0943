"""The /files resolver serves what was ingested, not what a path points to now: real files,
real links, a real ingestion into a real chunk store, no browser."""

from __future__ import annotations

import os

import pytest

from kb_agent.access import Principal
from kb_agent.config import IngestSettings
from kb_agent.errors import AccessDenied
from kb_agent.ingest.pipeline import Ingestor
from kb_agent.store.chunks import ChunkStore
from kb_agent.ui.files import resolve_download
from tests.ingest.helpers import HashEmbedder

ALICE = Principal("alice")
FIONA = Principal("fiona", frozenset({"finance"}))


@pytest.fixture
def kb(tmp_path):
    root = tmp_path / "kb"
    (root / "public").mkdir(parents=True)
    (root / "finance").mkdir()
    (root / "finance" / "_access.yaml").write_text("groups: [finance]\n", encoding="utf-8")
    (root / "finance" / "floor.md").write_text("# 底价\n底价是标价的 82%。\n", encoding="utf-8")
    (root / "public" / "hello.md").write_text("# Hello\nWelcome aboard.\n", encoding="utf-8")
    os.symlink(root / "finance" / "floor.md", root / "public" / "floor_link.md")
    store = ChunkStore(tmp_path / "kb.sqlite3")
    Ingestor(store, HashEmbedder(), IngestSettings(workers=1)).run([root])
    return root, store


def denied(store, who, source):
    with pytest.raises(AccessDenied):
        resolve_download(store, who, source)
    return True


def test_an_ingested_link_serves_its_target_to_the_targets_groups_only(kb):
    root, store = kb
    assert resolve_download(store, FIONA, "public/floor_link.md") == root / "finance" / "floor.md"
    assert denied(store, ALICE, "public/floor_link.md")
    assert resolve_download(store, ALICE, "public/hello.md") == root / "public" / "hello.md"


def test_a_file_replaced_by_a_link_after_ingestion_is_not_served(kb):
    root, store = kb
    hello = root / "public" / "hello.md"
    hello.unlink()
    os.symlink(root / "finance" / "floor.md", hello)   # no re-ingest
    assert denied(store, ALICE, "public/hello.md")


def test_a_link_repointed_after_ingestion_is_not_served(kb, tmp_path):
    root, store = kb
    (tmp_path / "elsewhere.md").write_text("# 底价\n底价是标价的 82%。\n", encoding="utf-8")
    link = root / "public" / "floor_link.md"
    link.unlink()
    os.symlink(tmp_path / "elsewhere.md", link)
    assert denied(store, FIONA, "public/floor_link.md")


def test_a_file_swapped_for_another_one_or_edited_is_not_served_until_reingested(kb):
    root, store = kb
    hello = root / "public" / "hello.md"
    st = hello.stat()
    hello.unlink()
    os.link(root / "finance" / "floor.md", hello)      # a hard link: same path, another file
    assert denied(store, ALICE, "public/hello.md")
    hello.unlink()
    hello.write_text("# Hello\nWelcome aboard!\n", encoding="utf-8")
    os.utime(hello, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert denied(store, ALICE, "public/hello.md")     # a new file, although it looks the same
    Ingestor(store, HashEmbedder(), IngestSettings(workers=1)).run([root])
    assert resolve_download(store, ALICE, "public/hello.md") == hello
    hello.write_text("# Hello\nWelcome aboard, edited.\n", encoding="utf-8")
    assert denied(store, ALICE, "public/hello.md")     # edited since it was ingested


def test_a_record_from_before_identities_were_kept_is_served_only_through_no_link(kb):
    root, store = kb
    from dataclasses import replace

    old = replace(store.source("public/hello.md"), real_path="", file_id="")
    store.record_outcome(old)
    assert resolve_download(store, ALICE, "public/hello.md") == root / "public" / "hello.md"
    hello = root / "public" / "hello.md"
    hello.unlink()
    os.symlink(root / "finance" / "floor.md", hello)
    assert denied(store, ALICE, "public/hello.md")

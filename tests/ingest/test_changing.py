"""A file that changes while the run reads it is read again (or failed and retried on the next
run), never recorded in the manifest as a version the index does not hold. The change is a
real write to the file, made by an ingest hook between parsing and the store commit."""

from __future__ import annotations

import os

from kb_agent.config import IngestSettings
from kb_agent.ingest.pipeline import Ingestor, file_hash
from kb_agent.store.chunks import ChunkStore
from tests.ingest.helpers import HashEmbedder


def run(store, paths, hooks=(), **settings):
    settings.setdefault("workers", 1)
    return Ingestor(store, HashEmbedder(), IngestSettings(**settings), hooks=hooks).run(paths)


def lines(report):
    return {f.path: (f.status, f.chunks, f.reason) for f in report.files}


class EditingHook:
    """Edits the file while the run holds it (after parsing, before the commit): a real write."""

    name = "editor"

    def __init__(self, edits: list[str], keep_mtime: bool = False):
        self.edits = list(edits)
        self.keep_mtime = keep_mtime
        self.events: list[tuple[str, str]] = []

    def on_file(self, source, path, metadata):
        self.events.append(("file", source))
        if self.edits:
            st = path.stat()
            path.write_text(self.edits.pop(0), encoding="utf-8")
            if self.keep_mtime:  # same size, same mtime: only the content says it changed
                os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))

    def on_remove(self, source):
        self.events.append(("remove", source))


def _texts(store, source):
    return [c.text for _, c in store.chunks_for_source(source)]


def test_a_file_changed_while_it_is_read_is_read_again(tmp_path):
    root = tmp_path / "kb"
    root.mkdir()
    memo = root / "memo.md"
    memo.write_text("# 通知\n会议在周一。\n", encoding="utf-8")
    store = ChunkStore(tmp_path / "kb.sqlite3")
    hook = EditingHook(["# 通知\n会议在周二。\n"], keep_mtime=True)
    rep = run(store, [root], hooks=[hook])
    assert lines(rep)["memo.md"][0] == "ok"
    assert _texts(store, "memo.md") == ["会议在周二。"]
    assert store.source("memo.md").content_hash == file_hash(memo)
    again = run(store, [root])
    assert lines(again)["memo.md"][0] == "unchanged" and _texts(store, "memo.md") == ["会议在周二。"]


def test_a_file_that_keeps_changing_is_failed_and_retried_on_the_next_run(tmp_path):
    root = tmp_path / "kb"
    root.mkdir()
    memo = root / "memo.md"
    memo.write_text("# 通知\n版本 0。\n", encoding="utf-8")
    store = ChunkStore(tmp_path / "kb.sqlite3")
    hook = EditingHook([f"# 通知\n版本 {i}，更长一些。\n" for i in range(1, 10)])
    status, chunks, reason = lines(run(store, [root], hooks=[hook]))["memo.md"]
    assert (status, chunks) == ("failed", 0)
    assert reason == "changed while reading, will retry next run"
    assert hook.events[-1] == ("remove", "memo.md")  # a hook never keeps a version the index lacks
    assert store.source("memo.md").status == "failed" and _texts(store, "memo.md") == []
    rep = run(store, [root])
    assert lines(rep)["memo.md"][0] == "ok"
    assert _texts(store, "memo.md") == [memo.read_text(encoding="utf-8").split("\n", 1)[1].strip()]
    assert store.source("memo.md").content_hash == file_hash(memo) and store.integrity_problems() == []

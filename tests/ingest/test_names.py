"""Every name in an ingested folder gets a report line: a name that is not valid UTF-8 is
reported (escaped) and skipped without stopping the run, hidden files and folders are
skipped with a reason. Through the pipeline and through the real `kb-agent ingest` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kb_agent.config import IngestSettings
from kb_agent.ingest.pipeline import Ingestor
from kb_agent.store.chunks import ChunkStore
from tests.ingest.helpers import HashEmbedder


@pytest.fixture
def messy(tmp_path):
    root = tmp_path / "kb"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "config").write_text("[core]\n", encoding="utf-8")
    (root / "good.txt").write_text("Offices: Shanghai HQ 8F.\n", encoding="utf-8")
    (root / ".hidden.md").write_text("# Hidden\nnot for the index\n", encoding="utf-8")
    fd = os.open(os.fsencode(root) + b"/\xff\xfe.txt", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"a file whose name is not UTF-8\n")
    os.close(fd)
    os.mkdir(os.fsencode(root) + b"/bad\xffdir")
    with open(os.fsencode(root) + b"/bad\xffdir/inner.txt", "wb") as fh:
        fh.write(b"inside a folder whose name is not UTF-8\n")
    return root


EXPECTED = {
    "good.txt": ("ok", None),
    ".hidden.md": ("skipped", "hidden file"),
    ".git/": ("skipped", "hidden folder (not listed)"),
    "\\xff\\xfe.txt": ("skipped", "file name is not valid UTF-8 (rename it to ingest it)"),
    "bad\\xffdir/": ("skipped", "folder name is not valid UTF-8 (not listed; rename it to ingest it)"),
}


def test_pipeline_reports_every_name_and_goes_on(tmp_path, messy):
    store = ChunkStore(tmp_path / "kb.sqlite3")
    rep = Ingestor(store, HashEmbedder(), IngestSettings(workers=1)).run([messy])
    assert {f.path: (f.status, f.reason) for f in rep.files} == EXPECTED
    assert [r.path for r in store.sources()] == ["good.txt"] and rep.exit_code == 0
    json.dumps(rep.to_dict(), ensure_ascii=False).encode("utf-8")  # printable as it is


def test_cli_reports_every_name_and_ingests_the_good_file(tmp_path, messy):
    """The installed command in its own process, as an admin runs it (no in-process shortcuts)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KB_AGENT_DATA_DIR": str(tmp_path / "d"),
           "LANG": "C.UTF-8"}
    out = subprocess.run([sys.executable, "-m", "kb_agent", "ingest", str(messy), "--json"], capture_output=True,
                         env=env, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    report = json.loads(out.stdout)
    assert {f["path"]: (f["status"], f["reason"]) for f in report["files"]} == EXPECTED
    assert report["totals"]["ok"] == 1
    plain = subprocess.run([sys.executable, "-m", "kb_agent", "ingest", str(messy)], capture_output=True,
                           env=env, cwd=tmp_path, timeout=300)
    assert plain.returncode == 0 and b"Traceback" not in plain.stderr
    assert "skipped   \\xff\\xfe.txt" in plain.stdout.decode("utf-8")


def test_a_folder_reached_through_a_link_to_a_non_utf8_name_is_reported(tmp_path, messy):
    alias = tmp_path / "alias"
    os.symlink(os.fsencode(messy) + b"/bad\xffdir", os.fsencode(alias))
    store = ChunkStore(tmp_path / "kb.sqlite3")
    rep = Ingestor(store, HashEmbedder(), IngestSettings(workers=1)).run([alias, messy / "good.txt"])
    got = {f.path: (f.status, f.reason) for f in rep.files}
    assert got[str(messy) + "/bad\\xffdir"] == ("failed", "path is not valid UTF-8 (rename it to ingest it)")
    assert got["good.txt"][0] == "ok" and rep.exit_code == 0

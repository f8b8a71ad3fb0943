"""Fixtures for the fact store tests: a copy of the sample facts, a KnowledgeBase over a temp
data directory (keyword matching unless a test asks for the embedder), and a loader for
spreadsheets through the real ingest hook."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kb_agent.config import PROJECT_ROOT
from kb_agent.kb import KnowledgeBase


@pytest.fixture
def facts_dir(tmp_path) -> Path:
    target = tmp_path / "facts"
    shutil.copytree(PROJECT_ROOT / "facts", target)
    return target


@pytest.fixture
def make_kb(make_settings, facts_dir):
    def make(embeddings: bool = False, **facts) -> KnowledgeBase:
        cfg = {"dir": facts_dir, "reload_check_s": 0, "use_embeddings": embeddings, **facts}
        return KnowledgeBase(make_settings(facts=cfg))

    return make


@pytest.fixture
def kb(make_kb) -> KnowledgeBase:
    return make_kb()


def load_table(kb: KnowledgeBase, path: Path, source: str | None = None, groups=("everyone",)) -> list[str]:
    """Feed one file to the spreadsheet hook the way the ingestion pipeline does."""
    hook = next(h for h in kb.ingest_hooks if h.name == "tables")
    hook.on_file(source or path.name, path, {"access_groups": list(groups), "content_hash": "x"})
    return hook.report.get(source or path.name, [])


def load_sample_tables(kb: KnowledgeBase) -> None:
    for path in sorted((PROJECT_ROOT / "sample_kb" / "tables").glob("*.xlsx")):
        load_table(kb, path, f"tables/{path.name}")

"""API-test fixtures: the real web app (tests/ui/conftest.py's start_app: users admin, alice
the employee and fiona in finance; a public guide and a finance-only price sheet), and keys.

The small document tree is ingested once per session (ingestion starts parser processes,
seconds each time) and each app that asks for ``docs=True`` gets its own copy of that chunk
store in its own data directory: what the tests see is the same real ingestion, done once."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.ui.conftest import RunningApp, app_settings, launch, make_docs


@pytest.fixture(scope="session")
def ingested_store(tmp_path_factory) -> Path:
    """kb.sqlite3 with tests/ui's make_docs tree ingested (sentence-transformers, as start_app)."""
    from kb_agent.config import PROJECT_ROOT, load_settings
    from kb_agent.kb import KnowledgeBase

    root = tmp_path_factory.mktemp("ingested")
    with pytest.MonkeyPatch.context() as mp:  # as tests/conftest.py's _isolated_env, for this session fixture
        for name in list(os.environ):
            if name.startswith(("KB_AGENT_", "DASHSCOPE_", "QWEN_AGENT_")):
                mp.delenv(name)
        mp.chdir(root)
        settings = load_settings(data_dir=root / "data", glossary={"dir": PROJECT_ROOT / "glossary"},
                                 embedder={"backend": "sentence-transformers"}, facts={"dir": root / "facts"})
        report = KnowledgeBase(settings).ingest([make_docs(root / "docs")])
    assert {f.status for f in report.files} == {"ok"}, report.to_dict()
    return root / "data" / "kb.sqlite3"


@pytest.fixture
def start_app(make_settings, tmp_path, ingested_store):
    """tests/ui's start_app (users admin, alice, fiona; the same settings), except that
    ``docs=True`` starts from a copy of the session's ingested store instead of ingesting."""
    running: list[RunningApp] = []

    def start(docs: bool = False, **overrides) -> RunningApp:
        from kb_agent.ui.app import build_context

        settings = app_settings(make_settings, tmp_path, overrides)
        if docs:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(ingested_store)) as src, \
                    closing(sqlite3.connect(settings.data_dir / "kb.sqlite3")) as dst:
                src.backup(dst)
        app = launch(build_context(settings))
        running.append(app)
        return app

    yield start
    for app in running:
        app.stop()


@pytest.fixture
def key_for():
    """key_for(app, user) -> a new API key of that user on a running app."""

    def make(app, user: str, **kw) -> str:
        return app.ctx.auth.keys.create(user, **kw)[1]

    return make

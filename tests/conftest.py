"""Shared fixtures: an isolated environment per test, settings in a temp data directory,
a copy of the sample glossary the test may edit, the CLI, and the fake LLM server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb_agent.config import PROJECT_ROOT, load_settings
from tests.fakellm import FakeLLM

REPO = PROJECT_ROOT


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No KB_AGENT_* / DASHSCOPE_* from the developer's shell; no ./kb_agent.yaml; cwd = tmp; a
    Gradio upload folder of the test's own."""
    for name in list(os.environ):
        if name.startswith(("KB_AGENT_", "DASHSCOPE_", "QWEN_AGENT_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio-uploads"))  # each test its own Gradio cache
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def glossary_dir(tmp_path) -> Path:
    target = tmp_path / "glossary"
    shutil.copytree(REPO / "glossary", target)
    return target


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def make_settings(data_dir, glossary_dir):
    """Settings on a temp data dir and glossary copy; keyword overrides as in load_settings."""

    def make(**overrides):
        overrides.setdefault("data_dir", data_dir)
        glossary = {"dir": glossary_dir, "reload_check_s": 0}
        glossary.update(overrides.pop("glossary", {}))
        return load_settings(glossary=glossary, **overrides)

    return make


@pytest.fixture
def fake_llm():
    server = FakeLLM().start()
    yield server
    server.stop()


@pytest.fixture
def cli(monkeypatch, data_dir, glossary_dir):
    """Run `kb-agent ...` in-process against the temp data dir and glossary copy."""
    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None):
        from kb_agent.cli import app

        full_env = {"KB_AGENT_DATA_DIR": str(data_dir), "KB_AGENT_GLOSSARY__DIR": str(glossary_dir),
                    "KB_AGENT_GLOSSARY__RELOAD_CHECK_S": "0", **(env or {})}
        return runner.invoke(app, list(args), env=full_env, input=input, catch_exceptions=False)

    return run

"""Browser-test fixtures: the real web app on 127.0.0.1 (uvicorn in a thread) and Debian's
headless Chromium driven by Playwright. No browser download, no network."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from kb_agent.config import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
# Test runs keep their screenshots out of the tree; `make screenshots` refreshes docs/screenshots.
SCREENSHOTS = (PROJECT_ROOT / "docs" / "screenshots" if os.environ.get("UPDATE_SCREENSHOTS") == "1"
               else PROJECT_ROOT / "tests" / "artifacts" / "screenshots")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--lang=zh-CN"]
PASSWORDS = {"admin": "admin-pass-1", "alice": "alice-pass-1", "fiona": "fiona-pass-1"}


def _ensure_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "system-deps.sh")], check=False)
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/system-deps.sh` as root")


@pytest.fixture(scope="session")
def browser():
    _ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningApp:
    def __init__(self, ctx, app):
        import uvicorn

        from kb_agent.ui.server import uvicorn_config

        self.ctx = ctx
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn_config(ctx.settings, app, port=self.port))  # as `serve` runs it
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "RunningApp":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the web app did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def make_docs(root: Path) -> Path:
    """A tiny real document tree: a public guide and a finance-only price sheet."""
    (root / "finance").mkdir(parents=True, exist_ok=True)
    (root / "guides").mkdir(parents=True, exist_ok=True)
    (root / "guides" / "returns_guide.md").write_text(
        "# Printer returns\n\n## Return window\n\nCustomers may return a Springlake printer within "
        "thirty days of delivery. The account manager files the return request in the service portal "
        "and arranges the pickup with the logistics team.\n", encoding="utf-8")
    (root / "finance" / "_access.yaml").write_text("groups: [finance]\n", encoding="utf-8")
    (root / "finance" / "floor_prices.md").write_text(
        "# Floor prices\n\n## SL-500\n\nThe confidential floor price of the Springlake SL-500 printer "
        "is 41,800 yuan per unit for distributors.\n", encoding="utf-8")
    return root


def app_settings(make_settings, tmp_path: Path, overrides: dict):
    """The settings every test app runs on, with ``overrides`` (consumed) on top."""
    web = {"admin_password": PASSWORDS["admin"], "ingest_sample_kb": False, **overrides.pop("web", {})}
    overrides.setdefault("embedder", {"backend": "sentence-transformers"})  # fast; e5 is tested elsewhere
    overrides.setdefault("facts", {"dir": tmp_path / "facts"})  # no curated facts: documents answer
    return make_settings(web=web, **overrides)


def launch(ctx) -> RunningApp:
    """Users admin, alice (employee) and fiona (finance) on ``ctx``, and its app serving."""
    from kb_agent.ui.app import create_app

    if ctx.auth is not None:
        ctx.auth.ensure_first_admin()
        ctx.auth.users.add("alice", PASSWORDS["alice"])
        ctx.auth.users.add("fiona", PASSWORDS["fiona"], groups=["finance"])
    return RunningApp(ctx, create_app(ctx)).start()


@pytest.fixture
def start_app(make_settings, tmp_path):
    """Start the web app for given settings overrides; users admin, alice (employee) and fiona
    (finance) exist; ``docs=True`` ingests the small document tree first."""
    running: list[RunningApp] = []

    def start(docs: bool = False, **overrides) -> RunningApp:
        from kb_agent.ui.app import build_context

        ctx = build_context(app_settings(make_settings, tmp_path, overrides))
        if docs:
            report = ctx.kb.ingest([make_docs(tmp_path / "docs")])
            assert {f.status for f in report.files} == {"ok"}, report.to_dict()
        app = launch(ctx)
        running.append(app)
        return app

    yield start
    for app in running:
        app.stop()


def sign_in(page, base_url: str, user: str) -> None:
    page.goto(base_url + "/chat/")
    page.fill("#username", user)
    page.fill("#password", PASSWORDS[user])
    page.click("#signin")
    page.wait_for_selector("#kb-chat", timeout=30_000)
    wait_for_header(page, user)


def wait_for_header(page, user: str) -> None:
    """The header (name, role, admin link) is filled by a load event after the page renders."""
    page.wait_for_function(
        "u => (document.querySelector('#kb-username') || {}).textContent?.includes(u)",
        arg=user, timeout=30_000)


def ask(page, question: str) -> None:
    page.fill("#kb-question textarea", question)
    page.click("#kb-send")


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=False)

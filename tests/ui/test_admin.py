"""The admin console in a real browser: glossary edits (invalid refused with line and field,
valid live in the next answer) and upload + ingest with the per-file report."""

from __future__ import annotations

import re

import pytest

from tests.ui.conftest import ask, shot, sign_in

pytestmark = pytest.mark.browser

NEW_ENTRY = ("  - term: ZQX\n    english: Zero Queue Exchange\n    chinese: 零队列交换\n"
             "    scope: 测试部\n")


def _replace_editor_text(page, text: str) -> None:
    page.locator("#kb-gloss-editor .cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def test_admin_edits_glossary_and_ingests_uploads(start_app, browser, tmp_path):
    app = start_app()
    kb = app.ctx.kb
    company = kb.glossary_store.directory / "company.yaml"
    original = company.read_text(encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    sign_in(page, app.url, "admin")
    page.click("#kb-admin-link")
    page.wait_for_selector("#kb-gloss-editor .cm-content")
    page.wait_for_function("document.querySelector('#kb-gloss-editor').innerText.includes('Actual Achieved Price')")
    assert "Account Manager" in page.inner_text("#kb-gloss-entries")
    shot(page, "admin_glossary.png")

    # Invalid edit: refused with line and field; file and live glossary unchanged.
    _replace_editor_text(page, original + "  - term: ZQX\n    scope: 测试部\n")
    page.click("#kb-gloss-save")
    issues = page.locator("#kb-glossary-issues")
    issues.wait_for(timeout=20_000)
    text = issues.inner_text()
    assert "nothing was saved" in text and re.search(r"line \d+", text)
    assert "english" in text or "chinese" in text  # the field that is missing
    shot(page, "admin_glossary_invalid.png")
    assert company.read_text(encoding="utf-8") == original
    assert not kb.glossary.lookup("ZQX").found and kb.glossary.lookup("AAP").found

    # Valid edit: saved and live.
    _replace_editor_text(page, original.rstrip("\n") + "\n" + NEW_ENTRY)
    page.click("#kb-gloss-save")
    page.get_by_text(re.compile("Saved company.yaml")).wait_for(timeout=20_000)
    assert kb.glossary.lookup("ZQX").found

    # Upload + ingest: one good Markdown file, one fake PDF refused by the type check.
    good = tmp_path / "service_hours.md"
    good.write_text("# Service hours\n\nThe service desk answers from 8:00 to 20:00 on workdays.\n", encoding="utf-8")
    bad = tmp_path / "evil.pdf"
    bad.write_bytes(b"MZ this is not a pdf")
    page.get_by_role("tab", name=re.compile("Documents")).click()
    page.set_input_files("#kb-doc-upload input[type=file]", [str(good), str(bad)])
    page.wait_for_timeout(1500)  # the upload finishes before the button is used
    page.click("#kb-doc-ingest")
    page.locator("#kb-ingest-summary").wait_for(timeout=120_000)
    report = page.inner_text("#kb-ingest-report")
    assert re.search(r"service_hours\.md\s+ok\s+1", report), report
    # Seconds per stage: a column per file, the sums in the summary.
    assert "Seconds" in report and re.search(r"service_hours\.md\s+ok\s+1\s+.*\b(parse|embed) \d+\.\d\d", report)
    assert re.search(r"Seconds per stage \(summed over files\): .*embed \d+\.\d", page.inner_text("#kb-ingest-summary"))
    assert re.search(r"evil\.pdf\s+refused", report) and "not a .pdf" in report
    page.wait_for_function("document.querySelector('#kb-doc-list').innerText.includes('service_hours.md')")
    shot(page, "admin_documents.png")
    assert any(r.path == "service_hours.md" and r.status == "ok" for r in kb.chunk_store.sources())

    # The glossary change is live in the next answer.
    page.goto(app.url + "/chat/")
    page.wait_for_selector("#kb-chat")
    ask(page, "ZQX是什么？")
    page.locator("table.kb-card", has_text="Zero Queue Exchange").wait_for(timeout=30_000)
    page.close()

"""The rest of the admin console in a real browser: spreadsheet import into the glossary,
folder ingestion and document removal, facts reload with an expired fact, the usage view."""

from __future__ import annotations

import re

import pytest

from tests.ui.conftest import shot, sign_in

pytestmark = pytest.mark.browser

FACTS = """facts:
  - id: canteen-hours
    questions: [食堂几点开门？]
    answer: 食堂每天 7:30 开门。
    source: {person: Admin Office}
    valid_from: 2021-01-01
  - id: canteen-hours-old
    questions: [食堂几点开门？]
    answer: 食堂每天 8:00 开门。
    source: {person: Admin Office}
    valid_from: 2020-01-01
    valid_to: 2020-12-31
"""


def _sheet(path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["公司缩略语表"])          # a title row before the header
    ws.append(["序号", "缩略语", "英文全称", "中文解释"])
    ws.append([1, "QBR", "Quarterly Business Review", "季度业务回顾"])
    ws.append([2, "KPI", "Key Performance Indicator", "关键绩效指标"])
    ws.append([3, "", "no abbreviation here", ""])
    wb.save(path)


def test_console_import_folder_remove_facts_usage(start_app, browser, tmp_path):
    (tmp_path / "facts").mkdir()
    (tmp_path / "facts" / "canteen.yaml").write_text(FACTS, encoding="utf-8")
    app = start_app(docs=True)
    kb, store = app.ctx.kb, app.ctx.kb.chunk_store
    app.ctx.answerer.ask("XYZQ是什么？", app.ctx.auth.users.get("alice").principal())  # an unanswered question
    more = tmp_path / "more"
    more.mkdir()
    (more / "parking.md").write_text("# Parking\n\nVisitors park in lot B.\n", encoding="utf-8")
    sheet = tmp_path / "abbreviations.xlsx"
    _sheet(sheet)

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    sign_in(page, app.url, "admin")
    page.goto(app.url + "/admin/")
    page.wait_for_selector("#kb-gloss-editor")

    # Glossary: spreadsheet import, then the new entry is searchable and live.
    page.set_input_files("#kb-gloss-import-file input[type=file]", str(sheet))
    page.wait_for_timeout(1000)
    page.click("#kb-gloss-import")
    page.get_by_text(re.compile(r"Imported 1 entries")).wait_for(timeout=20_000)  # KPI is in general.yaml already
    body = page.inner_text("body")
    assert "skipped 3 row(s)" in body and "缩略语 is empty" in body and "'KPI' is already in the glossary" in body
    assert kb.glossary.lookup("QBR").found
    page.fill("#kb-gloss-search textarea, #kb-gloss-search input", "Quarterly")
    page.wait_for_function("document.querySelector('#kb-gloss-entries').innerText.includes('QBR')")
    assert "XYZQ" in page.inner_text("#kb-unknown-terms")

    # Documents: ingest a server folder, then remove a document.
    page.get_by_role("tab", name=re.compile("Documents")).click()
    page.wait_for_function("document.querySelector('#kb-doc-list').innerText.includes('returns_guide.md')")
    page.fill("#kb-doc-folder textarea, #kb-doc-folder input", str(more))
    page.click("#kb-doc-folder-btn")
    page.locator("#kb-ingest-summary").wait_for(timeout=120_000)
    assert re.search(r"parking\.md\s+ok", page.inner_text("#kb-ingest-report"))
    page.locator("#kb-doc-pick input").click()
    page.get_by_role("option", name="guides/returns_guide.md").click()
    page.click("#kb-doc-remove")
    page.get_by_text(re.compile("Removed guides/returns_guide.md")).wait_for(timeout=20_000)
    assert store.source("guides/returns_guide.md") is None
    assert {r.path for r in store.sources()} == {"finance/floor_prices.md", "parking.md"}

    # Facts: reload shows the expired fact.
    page.get_by_role("tab", name=re.compile("Facts")).click()
    page.click("#kb-facts-reload")
    page.get_by_text(re.compile(r"2 fact\(s\) · 1 expired")).wait_for(timeout=20_000)

    # Usage: the unanswered question and the no-answer rate.
    page.get_by_role("tab", name=re.compile("Usage")).click()
    assert "XYZQ是什么？" in page.inner_text("#kb-usage-table")
    assert "100% with no answer found" in page.inner_text("#kb-usage-stat")
    shot(page, "admin_usage.png")
    page.close()

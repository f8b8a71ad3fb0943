"""The console's feedback and audit tabs in a real browser: a down-voted answer is listed (its
comment escaped), turned into an eval case that `kb-agent eval` then runs and passes; the
audit tab lists the evidence an employee was shown and exports it; the export is for admins
only (an employee fetching its URL gets 404)."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.ui.conftest import PASSWORDS, shot, sign_in

pytestmark = pytest.mark.browser

RETURNS = "How many days do customers have to return a Springlake printer?"
EVIDENCE = "guides/returns_guide.md Printer returns > Return window"


def _client(app, user: str) -> httpx.Client:
    c = httpx.Client(base_url=app.url, timeout=30)
    assert c.post("/login", data={"username": user, "password": PASSWORDS[user]}).status_code == 303
    return c


def test_feedback_becomes_an_eval_case_and_the_audit_lists_the_evidence(start_app, browser, cli):
    app = start_app(docs=True)
    ctx = app.ctx
    answer = ctx.answerer.ask(RETURNS, ctx.auth.users.get("alice").principal(), surface="web")
    assert answer.citations and answer.citations[0].source == "guides/returns_guide.md"
    item_id = ctx.kb.feedback.add("alice", RETURNS, answer.answer, "down", answer.tool_calls,
                                  [c.to_dict() for c in answer.citations], comment="<b>wrong</b> window?")

    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    sign_in(page, app.url, "admin")
    page.goto(app.url + "/admin/")
    page.wait_for_selector("#kb-gloss-editor")

    # Feedback: listed, picked, prefilled from the evidence, saved as an eval case.
    page.get_by_role("tab", name=re.compile("Feedback")).click()
    page.wait_for_function("document.querySelector('#kb-fb-table').innerText.includes('Springlake printer')")
    assert "<b>wrong</b> window?" in page.inner_text("#kb-fb-table")           # shown as text, not markup
    page.locator("#kb-fb-pick input").click()
    page.get_by_role("option", name=re.compile(f"#{item_id} ")).click()
    page.wait_for_function("document.querySelector('#kb-fb-source input').value === 'guides/returns_guide.md'")
    assert json.loads(page.input_value("#kb-fb-locator input")) == {"heading": "Printer returns > Return window"}
    assert page.locator("#kb-fb-item b", has_text="wrong").count() == 0
    page.click("#kb-fb-save")
    page.get_by_text(re.compile(f"Saved feedback-{item_id} to")).wait_for(timeout=20_000)
    target = ctx.settings.eval_dir / "feedback.jsonl"
    (case,) = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert case == {"id": f"feedback-{item_id}", "question": RETURNS, "kind": "doc",
                    "expected_source": "guides/returns_guide.md",
                    "expected_locator": {"heading": "Printer returns > Return window"}, "feedback_id": item_id}
    assert ctx.kb.feedback.get(item_id).eval_case == str(target)
    page.wait_for_function("document.querySelector('#kb-fb-table').innerText.includes('feedback.jsonl')")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "admin_feedback.png")
    page.click("#kb-fb-save")                                                 # the same case twice: refused
    page.get_by_text(re.compile("Not saved.*already")).wait_for(timeout=20_000)

    env = {"KB_AGENT_EMBEDDER__BACKEND": "sentence-transformers", "KB_AGENT_FACTS__DIR": str(ctx.settings.facts.dir)}
    result = cli("eval", str(target), "--json", env=env)
    assert result.exit_code == 0, result.output
    (res,) = json.loads(result.stdout)["results"]
    assert res["id"] == f"feedback-{item_id}" and res["rank"] == 1

    # Audit: the employee's answer with its surface and evidence; the export holds it too.
    page.get_by_role("tab", name=re.compile("Audit")).click()
    page.fill("#kb-audit-user input", "alice")
    page.click("#kb-audit-search")
    page.wait_for_function("document.querySelector('#kb-audit-stat').innerText.includes('1 answer')")
    table = page.inner_text("#kb-audit-table")
    assert RETURNS in table and EVIDENCE in table and "web" in table
    shot(page, "admin_audit.png")
    with page.expect_download() as download:
        page.click("#kb-audit-jsonl")
    (line,) = [json.loads(x) for x in open(download.value.path(), encoding="utf-8")]
    assert line["user"] == "alice" and line["surface"] == "web" and line["evidence"][0]["source"] == "guides/returns_guide.md"
    page.close()

    href = "/audit/export?format=csv&user=alice"
    admin = _client(app, "admin").get(href)
    assert admin.status_code == 200 and EVIDENCE in admin.text and "attachment" in admin.headers["content-disposition"]
    assert _client(app, "alice").get(href).status_code == 404                # employees cannot read it
    assert httpx.get(app.url + href).status_code == 404                       # nor can anyone signed out
    assert _client(app, "admin").get("/audit/export?since=yesterday").status_code == 400

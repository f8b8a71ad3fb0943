"""Access control through the browser and crafted URLs: the admin console is refused to
employees (page and every Gradio endpoint), restricted documents never reach them (answers,
citations, downloads), and path tricks are refused the same way."""

from __future__ import annotations

import pytest

from tests.ui.conftest import ask, shot, sign_in

pytestmark = pytest.mark.browser

DOC_Q = "What is the floor price of the SL-500 printer?"


def test_employee_cannot_open_console_or_fetch_restricted_files(start_app, browser):
    app = start_app(docs=True)
    alice = browser.new_context(viewport={"width": 1200, "height": 860})
    page = alice.new_page()
    sign_in(page, app.url, "alice")

    resp = page.goto(app.url + "/admin/")
    assert resp.status == 403 and "admins only" in page.inner_text("#refused")
    shot(page, "admin_refused.png")
    for endpoint in ("/admin/config", "/admin/gradio_api/info", "/admin/gradio_api/queue/join"):
        r = page.request.get(app.url + endpoint) if "join" not in endpoint else \
            page.request.post(app.url + endpoint, data={"fn_index": 0, "data": [], "session_hash": "x"})
        assert r.status == 401, endpoint

    # The public guide downloads; the finance sheet and path tricks are refused alike.
    ok = page.request.get(app.url + "/files?source=guides/returns_guide.md")
    assert ok.status == 200 and b"thirty days" in ok.body()
    assert ok.headers["x-content-type-options"] == "nosniff" and "sandbox" in ok.headers["content-security-policy"]
    for source in ("finance/floor_prices.md", "finance%2Ffloor_prices.md", "../docs/finance/floor_prices.md",
                   "guides/../finance/floor_prices.md", "/etc/passwd", "finance/_access.yaml"):
        r = page.request.get(app.url + "/files?source=" + source)
        assert r.status == 404 and b"41,800" not in r.body(), source

    # The restricted passage never appears in her answer or its citations.
    page.goto(app.url + "/chat/")
    page.wait_for_selector("#kb-chat")
    ask(page, DOC_Q)
    page.wait_for_selector("text=/Nothing in the knowledge base|most relevant excerpts/", timeout=30_000)
    assert "41,800" not in page.inner_text("#kb-chat")
    assert "floor_prices.md" not in page.inner_text("#kb-chat")

    # Without a session nothing is served.
    anon = browser.new_context()
    assert anon.request.get(app.url + "/files?source=guides/returns_guide.md").status == 401
    assert anon.request.get(app.url + "/chat/config").status == 401
    anon.close()

    # A finance member gets the document, with a citation linking to it.
    fiona = browser.new_context(viewport={"width": 1200, "height": 900})
    page2 = fiona.new_page()
    sign_in(page2, app.url, "fiona")
    ask(page2, DOC_Q)
    link = page2.locator("#kb-chat a", has_text="floor_prices.md").first
    link.wait_for(timeout=30_000)
    assert "41,800" in page2.inner_text("#kb-chat")
    shot(page2, "chat_citations.png")
    href = link.get_attribute("href")
    assert href.startswith("/files?source=finance%2Ffloor_prices.md")
    assert page2.request.get(app.url + href).status == 200
    alice.close()
    fiona.close()


def test_llm_invented_tool_arguments_cannot_reach_restricted_passages(start_app, browser):
    """The fake model asks doc_retrieve for the finance folder explicitly and echoes whatever
    the tool returned: alice's turn never carries the restricted passage — not in the chat,
    not in what the model was shown; fiona's does."""
    from kb_agent.router import NOT_FOUND
    from tests.fakellm import Call, FakeLLM, Say, last_tool_result

    llm = FakeLLM().start()
    try:
        app = start_app(docs=True, llm="openai", openai={"model_server": llm.url, "model": "fake"})
        echo = lambda req: Say("Tool said: " + last_tool_result(req)[:400])  # noqa: E731
        grab = Call("doc_retrieve", {"query": "confidential SL-500 floor price for distributors", "filters": {"folders": ["finance"]}})
        for user in ("alice", "fiona"):
            llm.enqueue(grab, echo)
            page = browser.new_context(viewport={"width": 1200, "height": 860}).new_page()
            sign_in(page, app.url, user)
            ask(page, "Tell me the confidential floor price")
            # alice's echo repeats the model's own query (SL-500, not in any source), so the
            # grounding check shows the "not found" answer instead; fiona's echo is shown, marked
            page.wait_for_function(
                "ws => ws.some(w => (document.querySelector('#kb-chat') || {}).innerText?.includes(w))",
                arg=["Tool said:", NOT_FOUND["en"][:40]], timeout=60_000)
            page.wait_for_timeout(300)
            chat = page.inner_text("#kb-chat")
            shown_to_model = str(llm.requests[-1]["messages"])
            if user == "alice":
                assert "41,800" not in chat and "41,800" not in shown_to_model
                assert "Relevance: NO relevant passage found" in shown_to_model  # the tool ran, found nothing
            else:
                assert "41,800" in chat and "floor_prices.md" in chat
            page.context.close()
    finally:
        llm.stop()

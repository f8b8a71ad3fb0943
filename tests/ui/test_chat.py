"""The employees' chat in a real browser: sign-in, glossary card, citations, streaming tool
steps with the fake LLM, LLM-unreachable notice, per-session conversations."""

from __future__ import annotations

import re

import pytest

from tests.fakellm import Call, Say
from tests.ui.conftest import PASSWORDS, ask, shot, sign_in, wait_for_header

pytestmark = pytest.mark.browser


def test_sign_in_then_glossary_card_in_offline_mode(start_app, browser):
    app = start_app()
    page = browser.new_page(viewport={"width": 1200, "height": 860})
    page.goto(app.url + "/chat/")
    assert "/login" in page.url  # not signed in: the chat redirects to the sign-in page
    shot(page, "signin.png")
    page.fill("#username", "alice")
    page.fill("#password", "wrong-password")
    page.click("#signin")
    assert "Wrong user name or password" in page.inner_text("#signin-error")
    page.fill("#password", PASSWORDS["alice"])
    page.click("#signin")
    page.wait_for_selector("#kb-chat")
    wait_for_header(page, "alice")
    assert page.is_visible("#kb-offline-banner")
    assert page.locator("#kb-admin-link").count() == 0  # employees get no console link

    ask(page, "什么是AAP？")
    card = page.locator("table.kb-card").first
    card.wait_for(timeout=30_000)
    text = card.inner_text()
    assert "AAP" in text and "Actual Achieved Price" in text and "实际成交价" in text and "销售部" in text
    assert page.get_by_text("查询术语表").count() >= 1  # the collapsible tool step
    shot(page, "chat_glossary_card.png")

    # A second person at the same time: separate conversations, in both directions.
    other = browser.new_context(viewport={"width": 1200, "height": 860}).new_page()
    sign_in(other, app.url, "admin")
    assert other.locator("#kb-admin-link").count() == 1
    ask(other, "AIP是什么活动？")
    other.locator("table.kb-card", has_text="All in Print").wait_for(timeout=30_000)
    assert "实际成交价" not in other.inner_text("#kb-chat")
    page.wait_for_timeout(500)
    assert "AIP是什么活动" not in page.inner_text("#kb-chat") and "All in Print" not in page.inner_text("#kb-chat")

    # New conversation clears the chat.
    other.click("#kb-new")
    other.wait_for_function("!document.querySelector('#kb-chat').innerText.includes('AIP是什么活动')")
    # An example question asks itself.
    other.locator("#kb-chat button.example", has_text="什么是AAP？").click()
    other.locator("table.kb-card", has_text="Actual Achieved Price").wait_for(timeout=30_000)
    other.context.close()
    page.close()


def _llm_app(start_app, server_url: str):
    return start_app(llm="openai", openai={"model_server": server_url, "model": "fake"})


def test_fake_llm_drives_tool_calls_and_the_answer_is_checked_before_it_shows(start_app, browser):
    from tests.fakellm import FakeLLM

    llm = FakeLLM(chunk_chars=3, delay_s=0.06).start()
    try:
        app = _llm_app(start_app, llm.url)
        answer = "AM 在公司里指客户经理（Account Manager），属于销售部，负责客户关系与订单跟进。"
        llm.enqueue(Call("glossary_lookup", {"term": "AM"}), Say(answer))
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        sign_in(page, app.url, "alice")
        assert page.locator("#kb-offline-banner").count() == 0
        # The model's text is checked against the sources before anyone reads it: the chat shows
        # the tool step while the model writes, then the whole checked answer, never a part of it.
        page.evaluate("""() => { window.kbPartial = false;
            new MutationObserver(() => { const t = document.querySelector('#kb-chat').innerText;
                if (t.includes('AM 在公司') && !t.includes('订单跟进')) window.kbPartial = true; })
              .observe(document.querySelector('#kb-chat'), {subtree: true, childList: true, characterData: true}); }""")
        ask(page, "AM是什么意思？")
        page.get_by_text("订单跟进").first.wait_for(timeout=30_000)
        step = page.get_by_text(re.compile("查询术语表 · glossary_lookup")).first
        assert step.is_visible()
        assert "Account Manager" in page.locator("table.kb-card").first.inner_text()
        step.click()  # expand the collapsible step: arguments and result
        page.get_by_text('glossary_lookup(term="AM")').first.wait_for(timeout=10_000)
        shot(page, "chat_llm_tool_step.png")
        assert page.evaluate("window.kbPartial") is False
        # The model was shown the tool result (the glossary entry), as Qwen-Agent sends it.
        assert any("Account Manager" in str(r["messages"]) for r in llm.requests[1:])
        assert page.locator("text=未能在引用来源中核实").count() == 0   # a faithful answer: no notice

        # A figure the glossary does not hold is marked, under the notice.
        llm.enqueue(Call("glossary_lookup", {"term": "AM"}),
                    Say("AM 是客户经理（Account Manager），属于销售部 [1]。AM 每月拜访每位客户 12 次。"))
        ask(page, "AM每月拜访客户几次？")
        page.get_by_text("未能在引用来源中核实").first.wait_for(timeout=30_000)
        last = page.locator("#kb-chat .message").last.inner_text()
        assert "12 次" in last and "未在来源中找到" in last, last
        shot(page, "chat_llm_flagged.png")
        page.close()
    finally:
        llm.stop()


def test_unreachable_llm_shows_a_readable_notice(start_app, browser):
    from tests.ui.conftest import free_port

    app = _llm_app(start_app, f"http://127.0.0.1:{free_port()}/v1")
    page = browser.new_page(viewport={"width": 1200, "height": 860})
    sign_in(page, app.url, "alice")
    ask(page, "AM是什么意思？")
    notice = page.locator(".kb-notice").first
    notice.wait_for(timeout=60_000)
    text = notice.inner_text()
    assert "Check that the server" in text and "Traceback" not in page.inner_text("#kb-chat")
    shot(page, "chat_llm_unreachable.png")
    page.close()

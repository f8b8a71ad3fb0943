"""The employees' chat in a real browser: sign-in, glossary card, citations, streaming tool
steps with the fake LLM, LLM-unreachable notice, per-session conversations."""

from __future__ import annotations

import re

import pytest

from tests.fakellm import Call, Say
from tests.ui.conftest import PASSWORDS, ask, shot, sign_in

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
    assert "alice" in page.inner_text("#kb-username")
    assert page.is_visible("#kb-offline-banner")
    assert page.locator("#kb-admin-link").count() == 0  # employees get no console link

    ask(page, "什么是AAP？")
    card = page.locator("table.kb-card").first
    card.wait_for(timeout=30_000)
    text = card.inner_text()
    assert "AAP" in text and "Actual Achieved Price" in text and "实际成交价" in text and "销售部" in text
    assert page.get_by_text("查询术语表").count() >= 1  # the collapsible tool step
    shot(page, "chat_glossary_card.png")
    page.close()

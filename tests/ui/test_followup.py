"""A two-turn follow-up in the web chat, offline mode, in headless Chromium (issue #16): the
second question leans on the first ("它"), and the answer says how it was read."""

from __future__ import annotations

import pytest

from tests.ui.conftest import ask, sign_in

pytestmark = pytest.mark.browser


def test_a_follow_up_is_answered_in_offline_mode(start_app, browser):
    app = start_app()
    page = browser.new_page(viewport={"width": 1200, "height": 860})
    sign_in(page, app.url, "alice")
    ask(page, "AM是什么意思？")
    page.locator("#kb-chat .message").filter(has_text="Account Manager").first.wait_for(timeout=60_000)
    ask(page, "它的英文全称是什么？")
    page.get_by_text("按上文理解为：AM的英文全称是什么？").first.wait_for(timeout=60_000)
    last = page.locator("#kb-chat .message").last.inner_text()
    assert "Account Manager" in last and "没有找到" not in last, last
    page.close()

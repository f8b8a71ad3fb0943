"""The "My keys" page in headless Chromium: an employee signs in, opens it from the chat header,
creates a key, sees it once and copies it, uses it with the official `openai` client, revokes it
in the page and the key stops working; an admin sees every key and creates one for another
user; an employee cannot."""

from __future__ import annotations

import openai
import pytest

from kb_agent.api.openai_compat import MODEL_ID
from tests.ui.conftest import shot, sign_in

pytestmark = pytest.mark.browser


def models(url: str, key: str) -> list[str]:
    client = openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=30)
    return [m.id for m in client.models.list()]


def test_key_lifecycle_in_the_browser(browser, start_app):
    app = start_app()
    context = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app.url)
    page = context.new_page()
    sign_in(page, app.url, "alice")
    page.click("#kb-keys-link")
    page.wait_for_selector("#kb-create-key")
    assert page.locator("#kb-no-keys").is_visible()

    page.fill("#kb-key-name", "laptop <script>")
    page.fill("#kb-key-expires", "30")
    page.click("#kb-create-key")
    token = page.locator("#kb-new-key").input_value()
    assert token.startswith("kbk_") and "shown only this once" in page.inner_text("#kb-new-key-box")
    assert page.locator("#kb-key-user").count() == 0            # an employee's keys are their own
    page.click("#kb-copy-key")
    page.wait_for_function("document.getElementById('kb-copied').textContent.length > 0")
    assert "Copied" in page.inner_text("#kb-copied")
    assert page.evaluate("navigator.clipboard.readText()") == token
    shot(page, "keys_created.png")

    page.goto(app.url + "/keys")                                 # shown once: never again
    assert token not in page.content() and page.locator("#kb-new-key").count() == 0
    (key,) = app.ctx.auth.keys.list("alice")
    row = page.inner_text(f"#kb-key-{key.id}")
    last_used = f"#kb-key-{key.id} td:nth-child(5)"
    assert "laptop <script>" in row and "active" in row and page.inner_text(last_used) == "-"
    assert models(app.url, token) == [MODEL_ID]
    page.reload()
    assert page.inner_text(last_used)[:2] == "20"                 # last used: now

    page.click(f"#kb-revoke-{key.id}")
    page.wait_for_selector("#kb-keys-info")
    assert f"API key {key.id} revoked" in page.inner_text("#kb-keys-info")
    assert "revoked" in page.inner_text(f"#kb-key-{key.id}") and page.locator(f"#kb-revoke-{key.id}").count() == 0
    with pytest.raises(openai.AuthenticationError) as refused:
        models(app.url, token)
    assert refused.value.status_code == 401

    # another user's key cannot be revoked by an employee, nor a key created for someone else
    other = app.ctx.auth.keys.create("fiona", "fiona's")[0]
    origin = {"origin": app.url}
    r = page.request.post(app.url + "/keys/revoke", form={"key_id": str(other.id)}, headers=origin)
    assert r.status == 404 and app.ctx.auth.keys.get(other.id).status() == "active"
    r = page.request.post(app.url + "/keys/create", form={"name": "x", "user": "admin"}, headers=origin)
    assert r.status == 403 and app.ctx.auth.keys.list("admin") == []
    r = page.request.post(app.url + "/keys/create", form={"name": "x"}, headers={"origin": "https://evil.example"})
    assert r.status == 403 and len(app.ctx.auth.keys.list("alice")) == 1
    context.close()

    # an admin sees every key and creates one for another user
    context = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 800})
    page = context.new_page()
    sign_in(page, app.url, "admin")
    page.goto(app.url + "/keys")
    assert "fiona's" in page.inner_text(f"#kb-key-{other.id}") and "alice" in page.inner_text(f"#kb-key-{key.id}")
    page.fill("#kb-key-user", "fiona")
    page.fill("#kb-key-name", "for fiona")
    page.click("#kb-create-key")
    made = page.locator("#kb-new-key").input_value()
    assert "for fiona" in page.inner_text("#kb-new-key-box")
    assert app.ctx.auth.user_for_key(made)[0].username == "fiona"
    page.click(f"#kb-revoke-{other.id}")
    page.wait_for_selector("#kb-keys-info")
    assert app.ctx.auth.keys.get(other.id).status() == "revoked"
    shot(page, "keys_admin.png")
    context.close()

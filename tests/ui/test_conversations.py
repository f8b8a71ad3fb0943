"""Stored conversations and feedback in the web chat, in headless Chromium (issue #16): a
two-turn conversation listed in the sidebar, reopened after a server restart, renamed and
deleted, never shown to another user; a thumbs-down with a comment stored with what was shown."""

from __future__ import annotations

import pytest

from tests.ui.conftest import RunningApp, ask, shot, sign_in

pytestmark = pytest.mark.browser

VIEW = {"width": 1280, "height": 860}
DISLIKE = "#kb-chat button[aria-label='踩'], #kb-chat button[aria-label='Dislike']"


def _answer(page, text: str) -> None:
    from playwright.sync_api import TimeoutError

    try:
        page.locator("#kb-chat .message").filter(has_text=text).first.wait_for(timeout=60_000)
    except TimeoutError:
        raise AssertionError(f"no {text!r} in the chat: {page.inner_text('#kb-chat')[-600:]!r}") from None


def _eventually(check, timeout_s: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _restart(app: RunningApp) -> RunningApp:
    """The same data directory served by a new process's worth of objects."""
    from kb_agent.ui.app import build_context, create_app

    app.stop()
    ctx = build_context(app.ctx.settings)
    return RunningApp(ctx, create_app(ctx)).start()


def test_conversations_are_kept_per_user_across_a_restart(start_app, browser):
    app = start_app()
    page = browser.new_context(viewport=VIEW).new_page()
    sign_in(page, app.url, "alice")
    page.locator("#kb-conv-empty").wait_for()
    ask(page, "AM是什么意思？")
    _answer(page, "Account Manager")
    ask(page, "它的英文全称是什么？")
    _answer(page, "按上文理解为：AM的英文全称是什么？")
    listing = page.locator("#kb-conversations")
    listing.get_by_text("AM是什么意思？").wait_for()
    assert page.locator("#kb-conv-empty").is_hidden()
    shot(page, "conversations.png")
    page.context.close()

    app = _restart(app)
    try:
        page = browser.new_context(viewport=VIEW).new_page()
        sign_in(page, app.url, "alice")
        listing = page.locator("#kb-conversations")
        listing.get_by_text("AM是什么意思？").click()
        _answer(page, "它的英文全称是什么？")
        assert "Account Manager" in page.locator("#kb-chat .message").last.inner_text()
        ask(page, "那中文呢？")  # continued: the reopened conversation's history is used
        page.get_by_text("按上文理解为：").nth(1).wait_for(timeout=60_000)
        _eventually(lambda: [c.turns for c in app.ctx.kb.conversations.list("alice")] == [3])

        # Renamed to text that looks like markup: shown as written, never as HTML.
        title = page.locator("#kb-conv-title").locator("input, textarea").first
        title.fill("<b>AM</b> 笔记")
        page.click("#kb-rename")
        listing.get_by_text("<b>AM</b> 笔记").wait_for()
        assert listing.locator("b").count() == 0
        assert app.ctx.kb.conversations.list("alice")[0].title == "<b>AM</b> 笔记"

        # Another user (and the admin, in the chat) sees none of it.
        for user in ("fiona", "admin"):
            other = browser.new_context(viewport=VIEW).new_page()
            sign_in(other, app.url, user)
            other.locator("#kb-conv-empty").wait_for()
            assert "AM" not in other.inner_text("#kb-sidebar")
            other.context.close()

        # Deleted after a confirmation; cancel first keeps it.
        page.click("#kb-delete")
        page.click("#kb-delete-cancel")
        page.locator("#kb-delete-confirm").wait_for(state="hidden")
        assert app.ctx.kb.conversations.list("alice")
        page.click("#kb-delete")
        page.click("#kb-delete-confirm")
        page.locator("#kb-conv-empty").wait_for()
        assert app.ctx.kb.conversations.list("alice") == []
        assert "AM是什么意思" not in page.inner_text("#kb-chat")
        page.context.close()
    finally:
        app.stop()


def test_a_thumbs_down_with_a_comment_is_stored_with_what_was_shown(start_app, browser):
    app = start_app()
    page = browser.new_page(viewport=VIEW)
    sign_in(page, app.url, "alice")
    ask(page, "AM是什么意思？")
    _answer(page, "Account Manager")
    page.locator(DISLIKE).last.click()
    page.locator("#kb-feedback-status").get_by_text("not helpful").wait_for()
    box = page.locator("#kb-feedback-comment").locator("input, textarea").first
    box.fill("<i>Should</i> say which department")
    shot(page, "conversations_feedback.png")
    page.click("#kb-feedback-send")
    page.locator("#kb-feedback-status").get_by_text("Comment saved").wait_for()
    [item] = app.ctx.kb.feedback.list(vote="down")
    [conv] = app.ctx.kb.conversations.list("alice")
    assert (item.user, item.question, item.comment, item.conversation_id) == \
        ("alice", "AM是什么意思？", "<i>Should</i> say which department", conv.id)
    assert item.tools == ["glossary_lookup"] and "Account Manager" in item.answer
    assert item.evidence and item.evidence[0]["source"].endswith(".yaml") and item.evidence[0]["locator"]

    # Reopened in a new page: the thumb given is shown, and rating again changes that same item.
    page.reload()
    page.locator("#kb-conversations").get_by_text("AM是什么意思？").click()
    page.locator("#kb-chat button[aria-label='Disliked']").wait_for()
    page.locator("#kb-chat button[aria-label='赞'], #kb-chat button[aria-label='Like']").last.click()
    _eventually(lambda: [(i.id, i.vote) for i in app.ctx.kb.feedback.list()] == [(item.id, "up")])
    assert app.ctx.kb.feedback.get(item.id).comment == "<i>Should</i> say which department"
    page.close()

"""What a page may make the browser do, checked in real Chromium: an answer (written by the
model from documents anyone can edit) that holds images or style sheets on another server
must not make the browser fetch them — the fetch's URL can carry what the page shows (a
prompt-injected document asking the model to "show this image" is the classic leak)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.fakellm import FakeLLM, Say
from tests.ui.conftest import ask, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def canary():
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_answers_cannot_make_the_browser_call_another_server(start_app, browser, canary):
    url, hits = canary
    llm = FakeLLM().start()
    try:
        app = start_app(llm="openai", openai={"model_server": llm.url, "model": "fake"})
        answer = (f"The floor price is ![chart]({url}/md-image.png?secret=41800) and "
                  f'<img src="{url}/html-image.png?secret=41800"> and '
                  f"<style>@import url({url}/style.css);</style> done. Beacon-end.")
        llm.enqueue(Say(answer), Say(answer))
        page = browser.new_page()
        sign_in(page, app.url, "alice")
        ask(page, "What is the floor price?")
        page.get_by_text("Beacon-end").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1500)
        assert hits == [], f"the page fetched {hits} from another server"
        page.goto(app.url + "/admin/")            # the console's pages carry the same policy
        page.close()
        admin = browser.new_page()
        sign_in(admin, app.url, "admin")
        admin.goto(app.url + "/admin/")
        admin.wait_for_selector("#kb-gloss-entries", timeout=30_000)
        admin.evaluate(f"() => {{ const i = new Image(); i.src = '{url}/from-console.png'; "
                       f"document.body.appendChild(i); }}")
        admin.wait_for_timeout(1000)
        assert hits == [], f"the console fetched {hits} from another server"
        admin.close()
    finally:
        llm.stop()


def test_text_between_dollar_signs_is_shown_as_written(start_app, browser):
    """The chat rendered $$…$$ as LaTeX (Gradio's default): text from documents, glossary fields
    and answers — already escaped as HTML — was reinterpreted by KaTeX (\\href, \\htmlClass, …)
    and shown as something else than it says. A knowledge-base chat shows text as written."""
    llm = FakeLLM().start()
    try:
        app = start_app(llm="openai", openai={"model_server": llm.url, "model": "fake"})
        literal = "$$\\href{javascript:alert(1)}{click here}$$ costs $$x^2$$"
        llm.enqueue(Say(f"Price list: {literal} Beacon-end."))
        page = browser.new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        sign_in(page, app.url, "alice")
        ask(page, "What does the price list say?")
        page.get_by_text("Beacon-end").first.wait_for(timeout=30_000)
        page.wait_for_timeout(800)
        assert literal in page.inner_text("#kb-chat")
        assert page.locator("#kb-chat .katex").count() == 0 and dialogs == []
        page.close()
    finally:
        llm.stop()

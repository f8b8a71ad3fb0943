"""Class 1: no session. Every page, API, Gradio and download route, with no cookie, a forged
cookie and a signed-out one, also through spellings of the path that a prefix check could
miss → 401/403/404/405 or a redirect to /login, never content."""

from __future__ import annotations

import httpx

from bench.adversarial.harness import Env, Tally

NUMBER, NAME = 1, "unauthenticated"

_GET = ["/", "/chat/", "/chat", "/admin/", "/admin", "/chat/config", "/admin/config", "/chat/gradio_api/info",
        "/admin/gradio_api/info", "/chat/gradio_api/queue/data?session_hash=abc", "/admin/gradio_api/queue/data",
        "/chat/gradio_api/heartbeat/abc", "/chat/gradio_api/startup-events", "/admin/gradio_api/upload_progress",
        "/files?source=public/guide.md", "/files?source=finance/floor_prices.md", "/files?source=/etc/passwd",
        "/chat/gradio_api/file=/etc/passwd", "/admin/gradio_api/file=/etc/passwd",
        "/chat/gradio_api/call/_respond", "/chat/gradio_api/api/predict", "/admin/gradio_api/mcp/sse",
        "/docs", "/openapi.json", "/redoc", "/chat/monitoring", "/chat/gradio_api/proxy=http://127.0.0.1:9/",
        # spellings a path-prefix guard could miss
        "/chat//config", "//chat/config", "/CHAT/config", "/chat/%63onfig", "/chat/./config", "/admin/../chat/config",
        "/chat/config/", "/chat/config?x=1", "/%2Fchat/config", "/chat%2Fconfig", "/admin/gradio_api/../config",
        "/admin/?__theme=dark", "/admin/index.html", "/chat/gradio_api/info/", "/files/?source=public/guide.md",
        "/FILES?source=public/guide.md",
        # the JSON API, the "My keys" page, the OpenAI-compatible API and MCP
        "/keys", "/keys/", "/api/openapi.json", "/api/ingest/status", "/v1/models", "/mcp", "/mcp/"]
_POST_JSON = ["/api/ask", "/chat/gradio_api/queue/join", "/admin/gradio_api/queue/join", "/chat/gradio_api/run/predict",
              "/admin/gradio_api/run/predict", "/chat/gradio_api/run/_respond", "/chat/gradio_api/api/predict",
              "/chat/gradio_api/reset", "/chat/gradio_api/cancel", "/chat/gradio_api/call/_respond",
              "/api/ask/", "/API/ask", "/api/search", "/api/glossary/lookup", "/api/facts/query", "/keys/create",
              "/keys/revoke", "/v1/chat/completions", "/mcp"]
_UPLOADS = ["/admin/gradio_api/upload", "/chat/gradio_api/upload"]


def _content_free(env: Env, r: httpx.Response, client: httpx.Client | None = None, hops: int = 3) -> tuple[bool, str]:
    """A refusal, or a redirect to the sign-in page; a redirect to another route of this server
    (a trailing slash removed, say) is followed, with the same cookies, and judged in turn."""
    if r.status_code in (301, 302, 303, 307, 308):
        where = r.headers.get("location", "")
        if where.startswith("/login") or where.startswith(env.url + "/login"):
            return True, f"redirect to {where!r}"
        local = where.startswith(env.url + "/") or (where.startswith("/") and not where.startswith("//"))
        if not local or client is None or hops == 0:
            return False, f"redirect to {where!r}"
        nxt = client.request(r.request.method, where, content=r.request.content,
                             headers={k: v for k, v in r.request.headers.items() if k.lower() in ("content-type",)})
        ok, why = _content_free(env, nxt, client, hops - 1)
        return ok, f"redirect to {where!r}, then {why}"
    if r.status_code not in (401, 403, 404, 405):
        return False, f"{r.status_code}, {len(r.content)} bytes: {r.text[:100]!r}"
    leaked = env.found(r.content) + [s for s in ("SQLite format 3", '"components"', '"dependencies"')
                                     if s.encode() in r.content]
    return not leaked, f"{r.status_code} with {leaked}"


def run(env: Env, t: Tally) -> None:
    body = {"data": ["hello", None], "fn_index": 0, "session_hash": "abc", "question": "hello", "query": "floor price",
            "term": "AAP", "model": "kb-agent", "messages": [{"role": "user", "content": "floor price"}],
            "jsonrpc": "2.0", "method": "tools/list", "id": 1}
    signed_out = env.client("alice")
    stale = signed_out.cookies.get("kb_session")
    signed_out.post("/logout")
    cookies = {"none": None, "forged": "0" * 43, "signed out": stale, "empty": ""}
    for kind, token in cookies.items():
        c = env.anon(cookies={"kb_session": token} if token is not None else None)
        requests = [("GET", p, {}) for p in _GET] + [("HEAD", "/files?source=finance/floor_prices.md", {})]
        requests += [("POST", p, {"json": body}) for p in _POST_JSON]
        requests += [("POST", p, {"files": {"files": ("a.txt", b"hello")}}) for p in _UPLOADS]
        requests += [("OPTIONS", "/api/ask", {}), ("PUT", "/api/ask", {"json": body}), ("DELETE", "/files", {})]
        if env.quick and kind in ("empty", "forged"):
            requests = requests[::3]
        for method, path, kw in requests:
            r = c.request(method, path, **kw)
            ok, why = _content_free(env, r, c)
            t.check(ok, f"{kind} cookie: {method} {path} → {why}")
    # A session cookie that is not ours but looks like one: another name, or two cookies.
    alice = env.client("alice")
    token = alice.cookies.get("kb_session")
    for header in (f"kb_session={token}x", f"kb_session=; kb_session={token[:-1]}", f"KB_SESSION={token}"):
        r = httpx.get(env.url + "/chat/config", headers={"cookie": header})
        ok, why = _content_free(env, r)
        t.check(ok, f"cookie header {header[:30]}…: GET /chat/config → {why}")

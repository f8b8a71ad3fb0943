"""Sign-in and request hardening: forwarding headers only from configured proxies, sign-out only
by a same-origin POST, cross-site writes refused, JSON only on /api/ask, Secure cookies on
HTTPS, capped question length, an idle Gradio queue that sleeps."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from kb_agent.ui.app import build_context, create_app
from tests.ui.conftest import PASSWORDS

ORIGIN = "http://testserver"


@pytest.fixture
def client_for(make_settings, tmp_path):
    made = []

    def make(base_url: str = ORIGIN, **web):
        web.setdefault("admin_password", "admin-pass-1")
        made.append(tmp_path / f"data{len(made)}")
        ctx = build_context(make_settings(data_dir=made[-1], web={"ingest_sample_kb": False, **web}))
        ctx.auth.ensure_first_admin()
        ctx.auth.users.add("alice", "alice-pass-1")
        return TestClient(create_app(ctx), base_url=base_url, follow_redirects=False)

    return make


def _sign_in(c: TestClient, **headers) -> httpx.Response:
    return c.post("/login", data={"username": "alice", "password": "alice-pass-1"}, headers=headers)


def test_sign_out_needs_a_same_origin_post(client_for):
    c = client_for()
    assert _sign_in(c, origin=ORIGIN).status_code == 303
    page = c.get("/logout")                      # a link, an <img>, a prefetch: no effect
    assert page.status_code == 200 and 'method="post" action="/logout"' in page.text
    assert c.get("/chat/config").status_code == 200
    assert c.post("/logout", headers={"origin": "https://evil.example"}).status_code == 403
    assert c.post("/logout", headers={"sec-fetch-site": "cross-site"}).status_code == 403
    assert c.get("/chat/config").status_code == 200
    assert c.post("/logout", headers={"origin": ORIGIN, "sec-fetch-site": "same-origin"}).status_code == 303
    assert c.get("/chat/config").status_code == 401


def test_cross_site_writes_are_refused(client_for):
    c = client_for()
    assert _sign_in(c, origin="https://evil.example").status_code == 403   # login CSRF
    assert _sign_in(c, origin="null").status_code == 403
    assert _sign_in(c, referer="https://evil.example/form").status_code == 403
    assert _sign_in(c, origin=ORIGIN).status_code == 303
    ask = {"question": "什么是AAP？"}
    assert c.post("/api/ask", json=ask, headers={"origin": "https://evil.example"}).status_code == 403
    join = c.post("/chat/gradio_api/queue/join", json={"data": ["x", None], "fn_index": 0, "session_hash": "abc"},
                  headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"})
    assert join.status_code == 403
    assert c.post("/api/ask", json=ask, headers={"origin": ORIGIN}).status_code == 200
    assert c.post("/api/ask", json=ask).status_code == 200  # scripts send no Origin: sign-in still applies


def test_allowed_origins_setting(client_for):
    c = client_for(allowed_origins=["https://kb.example.com"])
    assert _sign_in(c, origin="https://kb.example.com", **{"sec-fetch-site": "cross-site"}).status_code == 303


def test_api_ask_takes_json_only_and_caps_question_length(client_for):
    c = client_for()
    _sign_in(c)
    r = c.post("/api/ask", content='{"question": "什么是AAP？"}', headers={"content-type": "text/plain"})
    assert r.status_code == 415
    r = c.post("/api/ask", json={"question": "AAP " * 5000})
    assert r.status_code == 400 and "too long" in r.json()["error"]
    r = c.post("/api/ask", json={"question": "什么是AAP？",
                                 "history": [{"role": "user", "content": [{"file": "/etc/passwd"}]}]})
    assert r.status_code == 200


def test_session_cookie_is_secure_on_https(client_for):
    assert "secure" not in _sign_in(client_for()).headers["set-cookie"].lower()
    https = client_for(base_url="https://testserver")
    assert "secure" in _sign_in(https, origin="https://testserver").headers["set-cookie"].lower()
    forced = client_for(secure_cookies=True)
    assert "secure" in _sign_in(forced).headers["set-cookie"].lower()


def _failed_signins(url: str, forwarded: bool) -> list[int]:
    """Six wrong passwords for six user names, each claiming another client address."""
    codes = []
    with httpx.Client(base_url=url) as c:
        for i in range(6):
            headers = {"x-forwarded-for": f"203.0.113.{i + 1}"} if forwarded else {}
            r = c.post("/login", data={"username": f"nobody{i}", "password": "wrong"}, headers=headers)
            codes.append(r.status_code)
    return codes


def test_forwarded_for_is_trusted_only_from_configured_proxies(start_app, tmp_path):
    app = start_app(web={"max_failed_signins": 5})
    assert _failed_signins(app.url, forwarded=True)[-1] == 429   # the real address is locked out
    proxied = start_app(data_dir=tmp_path / "proxied", web={"max_failed_signins": 5, "trusted_proxies": ["127.0.0.1"]})
    assert _failed_signins(proxied.url, forwarded=True)[-1] == 401  # behind our proxy: its header counts


def test_idle_gradio_queue_sleeps(client_for):
    from kb_agent.ui.gradio_guard import PROGRESS_SLEEP_S, QUEUE_IDLE_SLEEP_S

    apps = client_for().app.state.gradio_apps
    assert set(apps) == {"/chat", "/admin"}
    assert all(b._queue.sleep_when_free >= QUEUE_IDLE_SLEEP_S >= 0.02 for b in apps.values())
    assert all(b._queue.progress_update_sleep_when_free >= PROGRESS_SLEEP_S >= 0.05 for b in apps.values())


def test_no_middleware_buffers_responses(client_for):
    """BaseHTTPMiddleware logs 'No response returned' when a streaming client disconnects; the
    app's guards are plain ASGI middleware."""
    from starlette.middleware.base import BaseHTTPMiddleware

    app = client_for().app
    assert app.user_middleware and not any(issubclass(m.cls, BaseHTTPMiddleware) for m in app.user_middleware)


def test_a_question_refused_for_its_length_is_a_notice_not_a_logged_traceback(make_settings, tmp_path, caplog):
    """Any employee could fill the log: each over-long chat question was logged as a warning with
    its traceback (as if the service had failed) besides the notice the user got."""
    import logging
    from types import SimpleNamespace

    from kb_agent.ui.chat import respond

    ctx = build_context(make_settings(data_dir=tmp_path / "d", facts={"dir": tmp_path / "facts"},
                                      web={"ingest_sample_kb": False, "admin_password": "admin-pass-1"}))
    ctx.auth.ensure_first_admin()
    ctx.auth.users.add("alice", "alice-pass-1")
    caplog.set_level(logging.INFO)
    updates = list(respond(ctx, "x" * (ctx.settings.agent.max_question_chars + 1), None,
                           SimpleNamespace(username="alice")))
    _box, chat, _conv = updates[-1]
    assert "too long" in chat[-1]["content"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info], \
        [(r.levelname, r.getMessage()) for r in caplog.records]

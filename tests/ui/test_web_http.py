"""The web app over HTTP without a browser (FastAPI TestClient): sign-in flow and redirects,
the JSON API, the throttled sign-in page, single-user mode, no open redirect."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kb_agent.ui.app import build_context, create_app


@pytest.fixture
def client_for(make_settings):
    def make(**web):
        web.setdefault("admin_password", "admin-pass-1")
        ctx = build_context(make_settings(web={"ingest_sample_kb": False, **web}))
        if ctx.auth is not None:
            ctx.auth.ensure_first_admin()
            ctx.auth.users.add("alice", "alice-pass-1")
        return TestClient(create_app(ctx), follow_redirects=False)

    return make


def test_sign_in_flow_and_json_api(client_for):
    c = client_for()
    assert c.get("/chat/").headers["location"] == "/login?next=/chat/"
    assert c.post("/api/ask", json={"question": "什么是AAP？"}).status_code == 401
    r = c.post("/login", data={"username": "alice", "password": "alice-pass-1", "next": "//evil.example/x"})
    assert r.status_code == 303 and r.headers["location"] == "/chat/"  # no open redirect
    cookie = r.headers["set-cookie"]
    assert "kb_session=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert c.get("/chat/").status_code == 200
    assert c.get("/chat/config").status_code == 200
    body = c.post("/api/ask", json={"question": "什么是AAP？"}).json()
    assert body["route"] == "term" and body["tool_calls"][0]["name"] == "glossary_lookup"
    assert "Actual Achieved Price" in body["answer"]
    assert c.get("/admin/").status_code == 403 and c.get("/admin/config").status_code == 401
    c.post("/logout")
    assert c.get("/chat/config").status_code == 401


def test_sign_in_page_throttles(client_for):
    c = client_for(max_failed_signins=2)
    for _ in range(2):
        assert c.post("/login", data={"username": "alice", "password": "nope"}).status_code == 401
    r = c.post("/login", data={"username": "alice", "password": "alice-pass-1"})
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text


def test_single_user_mode_needs_no_sign_in(client_for):
    c = client_for(single_user=True)
    assert c.get("/chat/").status_code == 200
    assert c.get("/admin/config").status_code == 200
    assert c.post("/api/ask", json={"question": "AM是什么意思？"}).json()["found"] is True

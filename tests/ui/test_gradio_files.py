"""No Gradio endpoint of either app hands out a server file: a hostile signed-in client sends a
FileData naming a server path (and the other shapes of a file value) in every input of every
event handler that the app's config lists, and nothing it gets back — nor anything Gradio's
file route serves afterwards — holds that file's content. Plus the route gate: the chat takes
and serves no files, no app fetches URLs, Gradio routes the front end does not use are 404."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.conftest import PASSWORDS
from tests.ui.gradio_wire import call, endpoints, file_values, sign_in, strings_in

MARK = "TOP-SECRET-7f3a9c"


def _served(client, mount: str, path: str) -> bytes:
    r = client.get(f"{mount}/gradio_api/file={path}")
    return r.content if r.status_code == 200 else b""


def _leaks(client, mount: str, messages: list[dict], secrets: list[bytes]) -> list[str]:
    found = []
    for text in strings_in(messages):
        if any(s.decode(errors="ignore") in text for s in secrets):
            found.append(f"content in the reply: {text[:80]!r}")
        if text.startswith("/") and len(text) < 500:
            body = _served(client, mount, text)
            if any(s in body for s in secrets):
                found.append(f"served afterwards: {text}")
    return found


@pytest.fixture
def running(start_app, tmp_path):
    app = start_app(docs=True)
    secret = tmp_path / "secret.txt"  # under the system temp folder, which Gradio may serve from
    secret.write_text(f"{MARK}\n", encoding="utf-8")
    return app, [str(secret), str(app.ctx.settings.users_db)]


@pytest.mark.parametrize("user,mounts", [("alice", ["/chat"]), ("admin", ["/chat", "/admin"])])
def test_no_endpoint_turns_a_server_path_into_a_download(running, user, mounts):
    app, targets = running
    secrets = [MARK.encode(), b"SQLite format 3"]
    client = sign_in(app.url, user, PASSWORDS[user])
    leaks, tried = [], 0
    for mount in mounts:
        eps = endpoints(client, mount)
        assert eps, f"{mount} lists no endpoints"
        for ep in eps:
            for slot in range(len(ep.inputs)):
                for target in targets:
                    for value in file_values(target):
                        data = ["hello"] * len(ep.inputs)
                        data[slot] = value
                        tried += 1
                        leaks += [f"{mount} fn {ep.fn_index} ({ep.api_name}) input {slot}: {leak}"
                                  for leak in _leaks(client, mount, call(client, ep, data), secrets)]
    assert tried > 50 and not leaks, leaks
    from gradio.utils import get_upload_folder

    cached = [p for p in Path(get_upload_folder()).rglob("*") if p.is_file()
              and any(s in p.read_bytes()[:1 << 20] for s in secrets)]
    assert not cached, f"copied into Gradio's cache: {cached}"


def test_route_gate(running):
    app, targets = running
    alice = sign_in(app.url, "alice", PASSWORDS["alice"])
    admin = sign_in(app.url, "admin", PASSWORDS["admin"])
    for client in (alice, admin):
        for mount in ("/chat", "/admin"):
            assert client.get(f"{mount}/gradio_api/file={targets[0]}").status_code in (401, 403, 404)
    assert alice.get("/chat/gradio_api/file=/etc/passwd").status_code == 404        # chat serves no files
    assert alice.post("/chat/gradio_api/upload", files={"files": ("a.txt", b"x")}).status_code == 404
    assert admin.get("/admin/gradio_api/file=http://127.0.0.1:9/x").status_code == 404  # no URL fetching
    for path in ("/chat/gradio_api/proxy=http://127.0.0.1:9/", "/chat/monitoring", "/chat/gradio_api/call/_respond",
                 "/chat/gradio_api/process_recording", "/admin/gradio_api/mcp/sse", "/chat/gradio_api/vibe-code"):
        assert admin.get(path).status_code == 404, path
    # what the front end needs still answers
    assert alice.get("/chat/config").status_code == 200
    assert alice.get("/chat/gradio_api/info").status_code == 200
    assert alice.get("/chat/theme.css").status_code == 200


def test_every_gradio_route_but_static_files_needs_the_mounts_sign_in(start_app):
    """Gradio's heartbeat and startup-events routes have no login check of their own: a client
    with no session held heartbeat streams open (one per request, for ever), and an employee
    could open the console's; closing a heartbeat ends the events of the session it names."""
    import httpx

    app = start_app()
    anon = httpx.Client(base_url=app.url, timeout=10, follow_redirects=False)
    alice = sign_in(app.url, "alice", PASSWORDS["alice"])
    admin = sign_in(app.url, "admin", PASSWORDS["admin"])

    def status(client, path: str) -> int:
        with client.stream("GET", path) as r:   # the heartbeat is an endless stream: read no body
            return r.status_code

    routes = ("/gradio_api/heartbeat/abc", "/gradio_api/startup-events", "/config", "/gradio_api/info",
              "/gradio_api/queue/data?session_hash=abc")
    for mount in ("/chat", "/admin"):
        for sub in routes:
            assert status(anon, mount + sub) == 401, f"no session: {mount}{sub}"
    for sub in routes:
        assert status(alice, "/admin" + sub) == 401, f"employee: /admin{sub}"
    for client, mount in ((alice, "/chat"), (admin, "/chat"), (admin, "/admin")):
        assert status(client, mount + "/gradio_api/heartbeat/abc") == 200, mount   # the front end's own
        assert status(client, mount + "/gradio_api/startup-events") == 200, mount
    assert anon.get("/chat/").status_code == 303 and anon.get("/admin/").status_code == 303   # → sign-in page
    assert alice.get("/admin/").status_code == 403                                            # refusal page


def test_calls_naming_no_handler_or_the_wrong_inputs_are_refused_not_crashed(start_app, caplog, capfd):
    """queue/join and run/ with a function number or API name the app does not have, or with
    fewer input values than the handler takes, raised inside Gradio (KeyError,
    FnIndexInferError, ValueError): a 500 or a reset connection and a traceback in the log per
    request — any signed-in user could fill the log."""
    import logging

    app = start_app()
    alice = sign_in(app.url, "alice", PASSWORDS["alice"])
    respond = next(e for e in endpoints(alice, "/chat") if e.inputs == ("textbox", "state") and e.queue)
    bad = [("queue/join", {"fn_index": 99}), ("queue/join", {"fn_index": -1}), ("queue/join", {}),
           ("run/predict", {"fn_index": 99}), ("run/predict", {}), ("run/no_such_handler", {}),
           ("queue/join", {"fn_index": respond.fn_index, "data": []}),
           ("queue/join", {"fn_index": respond.fn_index, "data": ["a", None, "c", "d"]})]
    caplog.set_level(logging.WARNING)
    capfd.readouterr()
    for route, fields in bad:
        body = {"data": ["hello"], "session_hash": "abc123", **fields}
        r = alice.post(f"/chat/gradio_api/{route}", json=body)
        assert r.status_code in (404, 422), (route, fields, r.status_code, r.text[:200])
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    assert "Traceback" not in capfd.readouterr().err
    # the front end's own calls still work
    msgs = call(alice, respond, ["hello", None])
    assert any(m.get("msg") == "process_completed" for m in msgs)

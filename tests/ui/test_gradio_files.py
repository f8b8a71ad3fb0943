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

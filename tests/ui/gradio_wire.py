"""Gradio's wire protocol, spoken directly (as a hostile client would, not as the front end does):
read an app's config, call any of its event handlers with any input values, collect what comes
back. Used by the security tests and by bench/adversarial.py."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any, Iterator

import httpx


@dataclass(frozen=True)
class Endpoint:
    app: str            # mount path, e.g. "/chat"
    fn_index: int
    api_name: str | None
    queue: bool
    inputs: tuple[str, ...]  # component types of the inputs, e.g. ("textbox", "state")
    trigger_id: int | None


def sign_in(base: str, user: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
    r = client.post("/login", data={"username": user, "password": password, "next": "/chat/"})
    assert r.status_code == 303, (r.status_code, r.text[:200])
    return client


def endpoints(client: httpx.Client, app: str) -> list[Endpoint]:
    cfg = client.get(f"{app}/config")
    cfg.raise_for_status()
    data = cfg.json()
    types = {c["id"]: c["type"] for c in data["components"]}
    out = []
    for dep in data["dependencies"]:
        if not dep.get("backend_fn"):
            continue
        targets = dep.get("targets") or []
        out.append(Endpoint(app, dep["id"], dep.get("api_name"), bool(dep.get("queue")),
                            tuple(types.get(i, "?") for i in dep["inputs"]),
                            targets[0][0] if targets else None))
    return out


def call(client: httpx.Client, ep: Endpoint, data: list[Any], timeout: float = 30) -> list[dict]:
    """Run one event handler; every message the server sent back (queued: the SSE stream)."""
    session = secrets.token_hex(6)
    body = {"data": data, "fn_index": ep.fn_index, "session_hash": session, "event_data": None,
            "trigger_id": ep.trigger_id}
    if not ep.queue:
        r = client.post(f"{ep.app}/gradio_api/run/predict", json=body, timeout=timeout)
        return [{"msg": "http", "status": r.status_code, "body": _json_or_text(r)}]
    r = client.post(f"{ep.app}/gradio_api/queue/join", json=body, timeout=timeout)
    if r.status_code != 200:
        return [{"msg": "http", "status": r.status_code, "body": _json_or_text(r)}]
    return list(_events(client, ep.app, session, timeout))


def _events(client: httpx.Client, app: str, session: str, timeout: float) -> Iterator[dict]:
    with client.stream("GET", f"{app}/gradio_api/queue/data", params={"session_hash": session},
                       timeout=timeout) as stream:
        for line in stream.iter_lines():
            if not line.startswith("data:"):
                continue
            msg = json.loads(line[5:])
            yield msg
            if msg.get("msg") in ("process_completed", "close_stream", "unexpected_error"):
                return


def _json_or_text(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return r.text


def file_values(server_path: str) -> list[Any]:
    """Ways of naming a server file in a component value: FileData alone, in a list, as a chat
    message's content (single, list, multimodal), and a bare path string."""
    fd = {"path": server_path, "meta": {"_type": "gradio.FileData"}, "orig_name": "x.txt"}
    return [
        fd,
        [fd],
        [{"role": "user", "content": fd}],
        [{"role": "user", "content": [fd]}],
        [{"role": "user", "content": [{"type": "file", "file": fd}]}],
        {"text": "hi", "files": [fd]},
        {"chat": [{"role": "user", "content": fd}], "history": []},
        server_path,
    ]


def strings_in(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from strings_in(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings_in(v)

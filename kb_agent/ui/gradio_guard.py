"""What the browser may reach of a mounted Gradio app, and what Gradio may serve from disk.

Gradio is built to serve files: a component value from the client may name a file (a
``FileData`` with a server path), and ``gradio_api/file=`` serves what Gradio put in its cache,
files from allowed folders, and (through the server) public URLs. Mounted with
``mount_gradio_app``, Gradio also skips its own check that an input file was uploaded by a
user (that check runs only after ``launch()``). kb-agent therefore mounts its two apps through
:func:`mount_guarded`, which

- turns Gradio's input check on: a file value in any endpoint's input must be a file the
  browser uploaded to this server's Gradio upload folder, never an arbitrary server path;
- blocks the data directory and the config file from Gradio's file serving outright;
- lets through only the routes the browser front end uses (:data:`_GET_ROUTES`,
  :data:`_POST_ROUTES`), and the upload and file routes only for an app that takes uploads
  (the admin console): the chat takes no files and serves none. ``file=`` never fetches URLs;
- asks the mount's own sign-in check (the chat: any user; the console: admins) before every
  route but the page itself (:class:`PageGuard` redirects or refuses it) and the static files
  (:data:`_PUBLIC_ROUTES`): some Gradio routes have no login check of their own — the
  heartbeat is an endless stream anyone could hold open, and closing one ends the events of
  the session it names;
- refuses a call (``queue/join``, ``run/…``) that names no event handler of the app, or brings
  another number of input values than its handler takes: Gradio raises on those (a 500 or a
  reset connection, and a traceback in the log for every such request).

Everything else under the mount answers 404, the same for every path.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import gradio as gr
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from kb_agent.config import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

#: Routes (below the mount path) that Gradio's browser front end calls; GET and HEAD.
_GET_ROUTES = re.compile(r"^/(|config/?|theme\.css|favicon\.ico|robots\.txt|manifest\.json"
                         r"|(assets|static|svelte)/.+"
                         r"|gradio_api/(info/?|heartbeat/[\w-]+|queue/data|startup-events))$")
_POST_ROUTES = re.compile(r"^/gradio_api/(queue/join|run/[\w-]+/?|cancel|reset/?)$")
_UPLOAD_GET = re.compile(r"^/gradio_api/(upload_progress|file=.+)$")
_UPLOAD_POST = re.compile(r"^/gradio_api/upload$")
#: Routes anyone may fetch: the page (guarded by :class:`kb_agent.ui.guards.PageGuard`) and the
#: front end's static files, which hold nothing of ours.
_PUBLIC_ROUTES = re.compile(r"^/(|theme\.css|favicon\.ico|robots\.txt|manifest\.json|(assets|static|svelte)/.+)$")
_CALL_ROUTES = re.compile(r"^/gradio_api/(queue/join|run/(?P<api>[\w-]+))/?$")
#: The largest call body read to check it (the console's editor sends whole glossary files).
MAX_CALL_BODY = 32 * 2**20
_URL_LIKE = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)

#: Gradio's queue loop polls every 1 ms when idle (``Queue.sleep_when_free``) and its progress
#: loop every 10 ms: 6-8 % of a core for a server nobody uses. 50 ms adds at most 50 ms before a
#: queued answer starts; progress bars (the console's ingestion) update 10 times a second.
QUEUE_IDLE_SLEEP_S = 0.05
PROGRESS_SLEEP_S = 0.1


@dataclass(frozen=True)
class MountPolicy:
    path: str            # the mount path, e.g. "/chat"
    uploads: bool        # does this app take files from the browser (and show them back)?
    user_for: Callable[[Any], str | None] | None = None   # the mount's sign-in check (None: no check)
    blocks: Any = None   # the app (gr.Blocks): its event handlers

    def needs_user(self, sub: str) -> bool:
        return self.user_for is not None and not _PUBLIC_ROUTES.match(sub)

    def call_problem(self, sub: str, body: bytes) -> tuple[int, str] | None:
        """(status, message) when a call body names no handler of this app or brings the wrong
        number of input values; None when Gradio may take it (its own checks answer 422 to a
        body of the wrong shape)."""
        m = _CALL_ROUTES.match(sub)
        if m is None or self.blocks is None:
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        fns = self.blocks.fns
        index = data.get("fn_index")
        if index is None:
            api = m.group("api")
            fn = next((f for f in fns.values() if api and f.api_name == api), None)
        elif isinstance(index, int) and not isinstance(index, bool):
            fn = fns.get(index)
        else:
            return None
        if fn is None or fn.fn is None:
            return 404, "Not Found"
        values = data.get("data")
        if isinstance(values, list):
            takes = {len(fn.inputs), sum(1 for b in fn.inputs if not getattr(b, "skip_api", False))}
            if len(values) not in takes:
                return 422, f"this handler takes {len(fn.inputs)} input value(s), not {len(values)}"
        return None

    def allows(self, method: str, sub: str) -> bool:
        if method in ("GET", "HEAD"):
            if _GET_ROUTES.match(sub):
                return True
            if self.uploads and _UPLOAD_GET.match(sub):
                return not _URL_LIKE.match(sub.split("file=", 1)[1]) if "file=" in sub else True
            return False
        if method == "POST":
            return bool(_POST_ROUTES.match(sub) or (self.uploads and _UPLOAD_POST.match(sub)))
        return False


class GradioGate:
    """ASGI middleware: requests under a guarded mount must match its :class:`MountPolicy`."""

    def __init__(self, app: ASGIApp, policies: list[MountPolicy]) -> None:
        self.app = app
        self.policies = policies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope.get("path", "")
            for policy in self.policies:
                if path == policy.path or path.startswith(policy.path + "/"):
                    sub = path[len(policy.path):] or "/"
                    if not policy.allows(scope.get("method", "GET"), sub):
                        log.info("refused %s %s (not a route of the %s app)", scope.get("method"), path, policy.path)
                        await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
                        return
                    if policy.needs_user(sub) and policy.user_for(Request(scope)) is None:
                        await JSONResponse({"detail": {"error": "Not authenticated", "auth_message": None}},
                                           status_code=401)(scope, receive, send)
                        return
                    if scope.get("method") == "POST" and _CALL_ROUTES.match(sub):
                        body = await _read_body(receive, MAX_CALL_BODY)
                        if body is None:
                            await PlainTextResponse("Request body too large", status_code=413)(scope, receive, send)
                            return
                        problem = policy.call_problem(sub, body)
                        if problem is not None:
                            log.info("refused %s %s: %s", scope.get("method"), path, problem[1])
                            await PlainTextResponse(problem[1], status_code=problem[0])(scope, receive, send)
                            return
                        receive = _replay(body, receive)
                    break
        await self.app(scope, receive, send)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None when it is over ``limit`` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then waits as the original does."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def mount_guarded(app: FastAPI, blocks: gr.Blocks, path: str, *, auth_dependency: Callable[[Any], str | None],
                  uploads: bool, max_file_size: int, blocked: list[Path], policies: list[MountPolicy],
                  **common: Any) -> None:
    """Mount ``blocks`` at ``path`` with Gradio's own file checks on and ``blocked`` never served;
    appends the mount's route policy to ``policies`` (the list a :class:`GradioGate` reads)."""
    gr.mount_gradio_app(app, blocks, path=path, auth_dependency=auth_dependency, max_file_size=max_file_size,
                        blocked_paths=[str(p) for p in blocked], **common)
    # mount_gradio_app leaves has_launched False, and Gradio skips its "this file was uploaded
    # by a user" check on inputs (processing_utils._check_allowed) until it is True.
    blocks.has_launched = True
    queue = getattr(blocks, "_queue", None)
    if queue is not None:
        queue.sleep_when_free = max(queue.sleep_when_free, QUEUE_IDLE_SLEEP_S)
        queue.progress_update_sleep_when_free = max(queue.progress_update_sleep_when_free, PROGRESS_SLEEP_S)
    policies.append(MountPolicy(path, uploads, auth_dependency, blocks))


def never_served_dirs(settings: Settings) -> list[Path]:
    """Folders Gradio must never serve from, whatever a handler returns: the data directory
    (users, sessions, indexes), the admins' YAML, the product's own folder (config, sample
    documents) and the working directory (where ``kb_agent.yaml`` is found). Gradio's upload
    folder stays servable even when it lies inside one of them."""
    from gradio.utils import get_upload_folder

    upload = Path(get_upload_folder()).resolve()
    folders = [settings.data_dir, settings.glossary.dir, settings.facts.dir, PROJECT_ROOT, Path.cwd()]
    resolved = dict.fromkeys(f.resolve() for f in folders)
    return [f for f in resolved if not (upload == f or f in upload.parents)]

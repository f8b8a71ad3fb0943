"""Request guards of the web app, as plain ASGI middleware (no BaseHTTPMiddleware: a streaming
client that disconnects must not leave "No response returned" tracebacks in the log).

- :class:`PageGuard`: browser pages of the chat and console — unsigned → the sign-in page;
  an employee opening the console → a refusal page; and every HTML page the app sends gets
  :data:`PAGE_POLICY` (a Content-Security-Policy), so nothing a page shows can make the browser
  load from or send to another server.
- :class:`SameOriginGuard`: a state-changing request (anything but GET/HEAD/OPTIONS) sent by a
  browser from another site is refused (403). Browsers say where a request comes from
  (``Sec-Fetch-Site``, ``Origin``); a request that says neither is not from a browser page
  (curl, scripts) and cannot carry a victim's cookie by itself, so it goes on to sign-in checks.
"""

from __future__ import annotations

import logging
from typing import Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: What our HTML pages may load, and from where: only this server. Answers are written by a
#: model from documents anyone can edit; an image or style sheet they name on another server
#: would be fetched by the browser, and its URL can carry what the page shows (a
#: prompt-injected "show this image" leaks the answer). Gradio's front end needs inline
#: scripts, styles and ``eval`` (event handlers), data: and blob: URLs; it loads nothing from
#: elsewhere. Responses that bring their own policy (downloads: ``sandbox``) keep it.
PAGE_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
               "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' data: blob:; "
               "font-src 'self' data:; connect-src 'self' data: blob:; worker-src 'self' blob:; frame-src 'self'; "
               "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")


def request_origin(scope: Scope, host: str | None) -> str:
    """scheme://host[:port] of the server as this request reached it."""
    return f"{scope.get('scheme', 'http')}://{host or ''}".lower()


def same_origin(method: str, headers: dict[str, str], own_origin: str, allowed: frozenset[str]) -> bool:
    """May this request change state? (``headers``: lower-case names.)"""
    if method.upper() in _SAFE_METHODS:
        return True
    trusted = {own_origin} | allowed
    site = headers.get("sec-fetch-site")
    origin = headers.get("origin")
    if site is not None and site not in ("same-origin", "none"):
        return origin is not None and origin.lower() in allowed  # another site: only a configured one
    if origin is not None:
        return origin.lower() in trusted  # "null" (sandboxed frames, file: pages) is never trusted
    referer = headers.get("referer")
    return referer is None or _referer_origin(referer) in trusted


def _referer_origin(referer: str) -> str:
    parts = referer.split("/", 3)
    return "/".join(parts[:3]).lower() if len(parts) >= 3 else ""


class SameOriginGuard:
    def __init__(self, app: ASGIApp, allowed_origins: list[str]) -> None:
        self.app = app
        self.allowed = frozenset(o.rstrip("/").lower() for o in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method", "GET") not in _SAFE_METHODS:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            if not same_origin(scope["method"], headers, request_origin(scope, headers.get("host")), self.allowed):
                log.info("refused cross-origin %s %s (Origin %r)", scope["method"], scope.get("path"),
                         headers.get("origin"))
                await PlainTextResponse("Cross-origin request refused.", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class PageGuard:
    """GET of the chat or console page: sign in first; the console is for admins only."""

    def __init__(self, app: ASGIApp, *, user_for: Callable[[Request], str | None],
                 admin_for: Callable[[Request], str | None], refused: Callable[[], str]) -> None:
        self.app = app
        self.user_for = user_for
        self.admin_for = admin_for
        self.refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            send = _with_page_policy(send)
        if scope["type"] == "http" and scope.get("method") == "GET" \
                and scope.get("path") in ("/chat", "/chat/", "/admin", "/admin/"):
            request = Request(scope)
            path = scope["path"]
            response = None
            if self.user_for(request) is None:
                response = RedirectResponse("/login?next=" + quote(path), status_code=303)
            elif path.startswith("/admin") and self.admin_for(request) is None:
                response = HTMLResponse(self.refused(), status_code=403)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _with_page_policy(send: Send) -> Send:
    """``send`` that adds :data:`PAGE_POLICY` to an HTML response without a policy of its own."""
    async def sender(message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            names = {k.lower() for k, _ in headers}
            ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
            if ctype.lower().startswith(b"text/html") and b"content-security-policy" not in names:
                headers.append((b"content-security-policy", PAGE_POLICY.encode("latin-1")))
                message = {**message, "headers": headers}
        await send(message)

    return sender

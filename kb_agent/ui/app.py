"""The web application: a FastAPI app with the sign-in page, the file-download route, the
admins' audit-log export, a small JSON API, and two Gradio apps mounted on it — the chat at
/chat and the admin console at /admin.

Gradio asks ``auth_dependency`` on every page, API and queue request: the chat accepts any
signed-in user, the console only admins (an employee gets 401 from every console endpoint,
and a readable refusal page when opening it in the browser).
"""

from __future__ import annotations

import logging
import mimetypes

import gradio as gr
from fastapi import FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse

from kb_agent.answering import Answerer
from kb_agent.auth import AuthService
from kb_agent.config import Settings
from kb_agent.errors import AccessDenied, AuthError
from kb_agent.kb import KnowledgeBase
from kb_agent.ui.context import SESSION_COOKIE, WebContext
from kb_agent.ui.files import resolve_download
from kb_agent.ui.gradio_guard import GradioGate, MountPolicy, mount_guarded, never_served_dirs
from kb_agent.ui.guards import PageGuard, SameOriginGuard
from kb_agent.ui.pages import refused_page, signin_page, signout_page
from kb_agent.ui.theme import CSS, gradio_theme

log = logging.getLogger(__name__)


_INLINE_TYPES = frozenset({"application/pdf", "text/plain", "text/markdown", "text/csv", "image/png", "image/jpeg",
                           "image/gif", "image/webp"})


def _download_headers(media: str) -> dict[str, str]:
    headers = {"X-Content-Type-Options": "nosniff"}
    if media != "application/pdf":  # Chromium's PDF viewer does not run in a sandboxed document
        headers["Content-Security-Policy"] = "sandbox"
    return headers


def _safe_next(url: str | None) -> str:
    """Only local paths after sign-in (no open redirect to another site)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/chat/"
    return url


def build_context(settings: Settings, kb: KnowledgeBase | None = None,
                  answerer: Answerer | None = None) -> WebContext:
    kb = kb or KnowledgeBase(settings)
    answerer = answerer or Answerer(settings, kb)
    auth = None if settings.web.single_user else AuthService(settings)
    from kb_agent.audit import DailyPurge

    purge = DailyPurge(kb.usage, settings.audit.retention_days)
    purge()                     # the web server starts: answers past the retention go now,
    answerer.after_log = purge  # and again at most once a day, checked after each answer
    return WebContext(settings, kb, answerer, auth)


def create_app(ctx: WebContext) -> FastAPI:
    from kb_agent.ui.admin import build_admin
    from kb_agent.ui.chat import build_chat

    product = ctx.settings.web.title
    app = FastAPI(title=product, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/")
    def root(request: Request):
        signed_in = ctx.username_for_request(request) is not None
        return RedirectResponse("/chat/" if signed_in else "/login", status_code=303)

    @app.get("/login")
    def login_form(request: Request, next: str = "/chat/"):
        if ctx.single_user:
            return RedirectResponse("/chat/", status_code=303)
        return HTMLResponse(signin_page(product, next_url=_safe_next(next)))

    @app.post("/login")
    def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/chat/")):
        if ctx.auth is None:
            return RedirectResponse("/chat/", status_code=303)
        address = request.client.host if request.client else None
        try:
            _user, token = ctx.auth.sign_in(username, password, address)
        except AuthError as exc:
            status = 429 if "Too many" in exc.message else 401
            return HTMLResponse(signin_page(product, error=exc.user_text(), next_url=_safe_next(next),
                                            username=username), status_code=status)
        resp = RedirectResponse(_safe_next(next), status_code=303)
        secure = ctx.settings.web.secure_cookies or request.url.scheme == "https"
        resp.set_cookie(SESSION_COOKIE, token, max_age=ctx.settings.web.session_ttl_minutes * 60, httponly=True,
                        samesite="lax", secure=secure, path="/")
        return resp

    @app.get("/logout")
    def logout_form(request: Request):
        """A link (or another site) cannot sign anyone out: signing out is a POST from our page."""
        if ctx.auth is None:
            return RedirectResponse("/chat/", status_code=303)
        return HTMLResponse(signout_page(product))

    @app.post("/logout")
    def logout(request: Request):
        if ctx.auth is not None:
            ctx.auth.sign_out(request.cookies.get(SESSION_COOKIE))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE, path="/")
        return resp

    @app.get("/files")
    def download(request: Request, source: str = ""):
        username = ctx.username_for_request(request)
        if username is None:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        try:
            path = resolve_download(ctx.kb.chunk_store, ctx.principal(username), source)
        except (AccessDenied, AuthError) as exc:
            log.info("download refused for %s: %r", username, source)
            return HTMLResponse(refused_page(product, exc.user_text()), status_code=404)
        media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        # Shown in the browser only for types that cannot run script (no HTML, no SVG).
        inline = media in _INLINE_TYPES
        if media.startswith("text/") and not inline:
            media = "text/plain"
        return FileResponse(path, media_type=media, filename=path.name,
                            content_disposition_type="inline" if inline else "attachment",
                            headers=_download_headers(media))

    # The JSON API for scripts (/api: session cookie or API key) and the "My keys" page (/keys).
    from kb_agent.api.json_api import json_api_router
    from kb_agent.ui.keys_page import keys_router

    app.include_router(json_api_router(ctx))
    app.include_router(keys_router(ctx))

    # The audit log as CSV / JSONL (/audit/export): admins only, written at request time.
    from kb_agent.ui.audit_export import audit_router

    app.include_router(audit_router(ctx))

    # The OpenAI-compatible API (/v1) and MCP (/mcp): API keys only, never the session cookie.
    from kb_agent.api.mcp_server import mount_mcp
    from kb_agent.api.openai_compat import openai_router

    app.include_router(openai_router(ctx.answerer, ctx.auth))
    mount_mcp(app, ctx.kb, ctx.auth)

    theme = gradio_theme()
    common = dict(theme=theme, css=CSS, footer_links=[], ssr_mode=False, run_history=False)
    chat = build_chat(ctx).queue(default_concurrency_limit=None)
    admin = build_admin(ctx).queue(default_concurrency_limit=4)
    max_upload = int(ctx.settings.web.max_upload_mb * 2**20)
    never_served = never_served_dirs(ctx.settings)
    policies: list[MountPolicy] = []
    mount_guarded(app, admin, "/admin", auth_dependency=ctx.admin_for_request, uploads=True,
                  max_file_size=max_upload, blocked=never_served, policies=policies, **common)
    mount_guarded(app, chat, "/chat", auth_dependency=ctx.username_for_request, uploads=False,
                  max_file_size=1, blocked=never_served, policies=policies, **common)
    app.state.gradio_apps = {"/chat": chat, "/admin": admin}
    # Outermost first: cross-site writes refused, then Gradio's routes, then the page redirects.
    app.add_middleware(PageGuard, user_for=ctx.username_for_request, admin_for=ctx.admin_for_request,
                       refused=lambda: refused_page(product, "The admin console is for admins only. "
                                                             "管理控制台仅限管理员使用。"))
    app.add_middleware(GradioGate, policies=policies)
    app.add_middleware(SameOriginGuard, allowed_origins=ctx.settings.web.allowed_origins)
    return app

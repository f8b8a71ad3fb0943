"""The "My keys" page at /keys: a signed-in user creates named API keys (optionally expiring),
sees a new key once (with a copy button), lists their keys and revokes one; an admin can also
create keys for another user and sees and revokes every key.

A server-rendered page with plain forms, like the sign-in page: every change is a POST (the
app's SameOriginGuard refuses cross-site ones, and the session cookie is SameSite=Lax), every
value shown is escaped, and every operation is the :class:`~kb_agent.auth.keys.ApiKeyStore`
method `kb-agent keys` calls. The new key is only in the response to the create POST (sent
``Cache-Control: no-store``); the database keeps its SHA-256 only.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from kb_agent.auth import User
from kb_agent.auth.keys import MAX_EXPIRES_DAYS, MAX_NAME_LEN, ApiKey
from kb_agent.errors import AuthError
from kb_agent.ui.context import WebContext
from kb_agent.ui.pages import _brand, _page

PATH = "/keys"
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}

KEYS_CSS = """
body { align-items: flex-start; padding: 40px 0; }
.card.wide { width: min(980px, 94vw); box-sizing: border-box; }
.card.wide form.create { display: flex; gap: 12px; align-items: flex-end; flex-wrap: wrap; }
.card.wide form.create div { flex: 1 1 160px; }
.card.wide form.create button { width: auto; padding: 10px 18px; margin-top: 0; }
.card.wide label { margin-top: 0; }
table.keys { width: 100%; border-collapse: collapse; margin-top: 18px; font-size: 13px; }
table.keys th { text-align: left; background: #eef3fb; color: #1f5fbf; padding: 6px 8px; }
table.keys td { border-top: 1px solid #e3e8f0; padding: 6px 8px; vertical-align: middle; }
table.keys form { margin: 0; }
table.keys button { width: auto; margin: 0; padding: 4px 10px; font-size: 13px; background: #b42318; }
table.keys button:hover { background: #8a1a12; }
.status-active { color: #1d6b3a; font-weight: 600; } .status-revoked, .status-expired { color: #8391a7; }
.newkey { background: #e9f7ef; border: 1px solid #a8dcbc; border-radius: 8px; padding: 12px; margin: 12px 0; }
.newkey .row { display: flex; gap: 8px; margin-top: 8px; }
.newkey input { font-family: ui-monospace, monospace; font-size: 13px; }
.newkey button { width: auto; margin: 0; padding: 8px 14px; }
.nav { display: flex; justify-content: space-between; font-size: 13px; margin-bottom: 14px; }
.nav a { color: #1f5fbf; text-decoration: none; font-weight: 600; }
.hint { font-size: 12px; color: #5b6b82; margin-top: 12px; line-height: 1.5; }
code { background: #f1f4f9; border-radius: 4px; padding: 1px 4px; }
"""

_COPY_SCRIPT = """<script>
(function () {
  var button = document.getElementById('kb-copy-key');
  if (!button) return;
  button.addEventListener('click', function () {
    var box = document.getElementById('kb-new-key'), note = document.getElementById('kb-copied');
    box.select();
    function done(ok) { note.textContent = ok ? 'Copied · 已复制' : 'Select the key and copy it (Ctrl+C)'; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(box.value).then(function () { done(true); },
                                                    function () { done(document.execCommand('copy')); });
    } else {
      done(document.execCommand('copy'));
    }
  });
})();
</script>"""


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "-"


def _key_row(key: ApiKey, show_user: bool) -> str:
    status = key.status()
    shown = status + (f" {_when(key.revoked_at)}" if key.revoked_at else "")
    action = ""
    if status != "revoked":
        action = (f'<form method="post" action="{PATH}/revoke"><input type="hidden" name="key_id" value="{key.id}">'
                  f'<button type="submit" id="kb-revoke-{key.id}">Revoke · 吊销</button></form>')
    user = f"<td>{escape(key.username)}</td>" if show_user else ""
    return (f'<tr id="kb-key-{key.id}"><td>{key.id}</td>{user}<td>{escape(key.name) or "-"}</td>'
            f"<td>{_when(key.created_at)}</td><td>{_when(key.expires_at)}</td><td>{_when(key.last_used_at)}</td>"
            f'<td class="status-{status}">{escape(shown)}</td><td>{action}</td></tr>')


def keys_page(product: str, user: User, keys: list[ApiKey], base_url: str, *, new_key: tuple[ApiKey, str] | None = None,
              error: str | None = None, info: str | None = None, form: dict[str, str] | None = None) -> str:
    form = form or {}
    msg = ""
    if error:
        msg = f'<div class="error" id="kb-keys-error">{escape(error)}</div>'
    elif info:
        msg = f'<div class="info" id="kb-keys-info">{escape(info)}</div>'
    fresh = ""
    if new_key is not None:
        key, token = new_key
        whose = "" if key.username == user.username else f" for {escape(key.username)}"
        fresh = (f'<div class="newkey" id="kb-new-key-box"><b>New key {key.id}{whose}'
                 f'{" (" + escape(key.name) + ")" if key.name else ""} — copy it now: it is shown only this once. '
                 f'复制并妥善保存，此密钥只显示这一次。</b><div class="row">'
                 f'<input id="kb-new-key" readonly value="{escape(token)}" aria-label="New API key">'
                 f'<button type="button" id="kb-copy-key">Copy · 复制</button></div>'
                 f'<div class="hint" id="kb-copied"></div></div>')
    owner_field = ""
    if user.is_admin:
        owner_field = (f'<div><label for="kb-key-user">User · 用户</label>'
                       f'<input id="kb-key-user" name="user" value="{escape(form.get("user") or user.username)}" '
                       f'autocomplete="off"></div>')
    create = (f'<form class="create" method="post" action="{PATH}/create">{owner_field}'
              f'<div><label for="kb-key-name">Name · 名称</label><input id="kb-key-name" name="name" '
              f'maxlength="{MAX_NAME_LEN}" placeholder="e.g. open-webui" value="{escape(form.get("name", ""))}"></div>'
              f'<div><label for="kb-key-expires">Expires in days · 有效天数</label><input id="kb-key-expires" '
              f'name="expires_days" type="number" min="1" max="{MAX_EXPIRES_DAYS}" placeholder="never" '
              f'value="{escape(form.get("expires_days", ""))}"></div>'
              f'<button type="submit" id="kb-create-key">Create key · 创建密钥</button></form>')
    head = "<th>ID</th>" + ("<th>User</th>" if user.is_admin else "") + (
        "<th>Name</th><th>Created</th><th>Expires</th><th>Last used</th><th>Status</th><th></th>")
    rows = "".join(_key_row(k, user.is_admin) for k in reversed(keys))
    table = (f'<table class="keys" id="kb-keys"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
             if keys else '<div class="hint" id="kb-no-keys">No API keys yet. 还没有 API 密钥。</div>')
    base = escape(base_url.rstrip("/"))
    scope = "every user's keys (admin)" if user.is_admin else "your keys"
    body = (f'<div class="card wide">{_brand(product, "My API keys · 我的 API 密钥")}'
            f'<div class="nav"><a href="/chat/">← Back to the chat · 返回对话</a>'
            f'<span>{escape(user.username)} · {scope}</span></div>{msg}{fresh}{create}{table}'
            f'<div class="hint">A key acts as its owner, with the owner\'s groups — never more. Send it as '
            f'<code>Authorization: Bearer &lt;key&gt;</code> to the OpenAI-compatible API <code>{base}/v1</code>, '
            f'MCP <code>{base}/mcp</code> or the JSON API <code>{base}/api</code> '
            f'(its description: <a href="/api/openapi.json">/api/openapi.json</a>; see docs/api.md). '
            f'Revoking stops a key at once.</div></div>{_COPY_SCRIPT if new_key else ""}')
    return _page(f"{product} · My keys", body, KEYS_CSS)


def keys_router(ctx: WebContext) -> APIRouter:
    router = APIRouter()
    product = ctx.settings.web.title

    def signed_in(request: Request) -> User | None:
        return ctx.user_for_request(request)

    def listed(user: User) -> list[ApiKey]:
        return ctx.auth.keys.list(None if user.is_admin else user.username)

    def render(request: Request, user: User, status: int = 200, **kw) -> HTMLResponse:
        return HTMLResponse(keys_page(product, user, listed(user), str(request.base_url), **kw),
                            status_code=status, headers=_HEADERS)

    def to_sign_in() -> RedirectResponse:
        return RedirectResponse(f"/login?next={PATH}", status_code=303)

    def single_user_page() -> HTMLResponse:
        body = (f'<div class="card">{_brand(product, "API keys · API 密钥")}<div class="info">Single-user mode: '
                f'/v1, /mcp and /api answer without a key, as the local admin.</div>'
                f'<div class="foot"><a href="/chat/">← Back to the chat · 返回对话</a></div></div>')
        return HTMLResponse(_page(f"{product} · API keys", body), headers=_HEADERS)

    @router.get(PATH, include_in_schema=False)
    def page(request: Request, revoked: str = ""):
        if ctx.auth is None:
            return single_user_page()
        user = signed_in(request)
        if user is None:
            return to_sign_in()
        return render(request, user, info=f"API key {revoked} revoked." if revoked.isdigit() else None)

    @router.post(PATH + "/create", include_in_schema=False)
    def create(request: Request, name: str = Form(""), expires_days: str = Form(""), user: str = Form("")):
        if ctx.auth is None:
            return RedirectResponse("/chat/", status_code=303)
        me = signed_in(request)
        if me is None:
            return to_sign_in()
        form = {"name": name, "expires_days": expires_days, "user": user}
        owner = user.strip() or me.username
        if owner != me.username and not me.is_admin:
            return render(request, me, 403, error="Only admins can create keys for other users.", form=form)
        try:
            days = float(expires_days) if expires_days.strip() else None
        except ValueError:
            return render(request, me, 400, error=f"Expires in days: give a number from 1 to {MAX_EXPIRES_DAYS}, "
                                                  "or leave it empty for a key that does not expire.", form=form)
        try:
            made = ctx.auth.keys.create(owner, name, days)
        except AuthError as exc:
            return render(request, me, 400, error=exc.user_text().replace("--expires-days", "Expires in days"),
                          form=form)
        return render(request, me, new_key=made)

    @router.post(PATH + "/revoke", include_in_schema=False)
    def revoke(request: Request, key_id: str = Form("")):
        if ctx.auth is None:
            return RedirectResponse("/chat/", status_code=303)
        me = signed_in(request)
        if me is None:
            return to_sign_in()
        key_id = key_id.strip()
        key = ctx.auth.keys.get(int(key_id)) if key_id.isdigit() and len(key_id) <= 12 else None
        if key is None or (key.username != me.username and not me.is_admin):  # another's key: as if none
            return render(request, me, 404, error=f"No API key {key_id[:20]!r} of yours.")
        try:
            ctx.auth.keys.revoke(key.id)
        except AuthError as exc:
            return render(request, me, 400, error=exc.user_text())
        return RedirectResponse(f"{PATH}?revoked={key.id}", status_code=303)

    return router

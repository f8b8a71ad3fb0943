"""Plain HTML pages outside Gradio: sign-in, sign-out and access refused (and the shell of the
"My keys" page, kb_agent/ui/keys_page.py)."""

from __future__ import annotations

from html import escape

from kb_agent.ui.theme import SIGNIN_CSS


def _page(title: str, body: str, css: str = "") -> str:
    return (f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{SIGNIN_CSS}{css}</style>'
            f'</head><body>{body}</body></html>')


def _brand(product: str, sub: str) -> str:
    return (f'<div class="brand"><span class="logo">kb</span><div><h1>{escape(product)}</h1>'
            f'<div class="sub">{escape(sub)}</div></div></div>')


def signin_page(product: str, error: str | None = None, info: str | None = None, next_url: str = "/chat/",
                username: str = "") -> str:
    msg = ""
    if error:
        msg = f'<div class="error" id="signin-error">{escape(error)}</div>'
    elif info:
        msg = f'<div class="info">{escape(info)}</div>'
    body = (f'<form class="card" method="post" action="/login">{_brand(product, "公司知识助手 · Sign in")}{msg}'
            f'<input type="hidden" name="next" value="{escape(next_url)}">'
            f'<label for="username">用户名 · User name</label>'
            f'<input id="username" name="username" autocomplete="username" value="{escape(username)}" required autofocus>'
            f'<label for="password">密码 · Password</label>'
            f'<input id="password" name="password" type="password" autocomplete="current-password" required>'
            f'<button type="submit" id="signin">登录 · Sign in</button>'
            f'<div class="foot">Accounts are managed by your knowledge-base admin.</div></form>')
    return _page(f"{product} · Sign in", body)


def refused_page(product: str, message: str) -> str:
    body = (f'<div class="card">{_brand(product, "Access refused · 无权访问")}'
            f'<div class="error" id="refused">{escape(message)}</div>'
            f'<div class="foot"><a href="/chat/">← Back to the chat · 返回对话</a></div></div>')
    return _page(f"{product} · Access refused", body)


def signout_page(product: str) -> str:
    """Signing out is a POST from this page (a link from anywhere could otherwise sign people out)."""
    body = (f'<form class="card" method="post" action="/logout">{_brand(product, "Sign out · 退出登录")}'
            f'<button type="submit" id="signout" autofocus>退出 · Sign out</button>'
            f'<div class="foot"><a href="/chat/">← Back to the chat · 返回对话</a></div></form>')
    return _page(f"{product} · Sign out", body)

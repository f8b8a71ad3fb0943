"""Starting the web app: first admin, sample knowledge base on first start, uvicorn.

``kb-agent serve`` and ``run_agent.py`` (``make run``) both call :func:`serve`.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Callable

from kb_agent.config import Settings

log = logging.getLogger(__name__)


def ensure_sample_kb(ctx, echo: Callable[[str], None]) -> None:
    """On first start with an empty chunk store, ingest the sample knowledge base."""
    from kb_agent.ingest.sample import ingest_sample_if_empty

    sample = ctx.settings.ingest.sample_kb_dir
    if not ctx.settings.web.ingest_sample_kb or not sample.is_dir() or ctx.kb.chunk_store.sources():
        return
    echo(f"First start: ingesting the sample knowledge base {sample} (once; this can take a few minutes)…")
    try:
        report = ingest_sample_if_empty(ctx.kb)
    except Exception as exc:  # the chat still works (glossary, facts) without documents
        log.warning("sample ingestion failed", exc_info=True)
        echo(f"Sample ingestion failed: {exc}")
        return
    files = report.to_dict()["files"] if report is not None else []
    ok = sum(1 for f in files if f.get("status") in ("ok", "unchanged"))
    echo(f"Sample knowledge base ingested: {ok} of {len(files)} file(s).")


def prepare(settings: Settings, echo: Callable[[str], None] = print):
    """Build the context and the app; create the first admin (password printed once)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from kb_agent.ui.app import build_context, create_app

    ctx = build_context(settings)
    if ctx.auth is not None:
        boot = ctx.auth.ensure_first_admin()
        if boot is not None and boot.password:
            echo("=" * 64)
            echo("First admin created. Sign in with (shown only this once):")
            echo(f"    user name: {boot.username}")
            echo(f"    password:  {boot.password}")
            echo("Change it with `kb-agent users passwd " + boot.username + "`.")
            echo("=" * 64)
        elif boot is not None:
            echo(f"First admin '{boot.username}' created with the password from the settings.")
    ensure_sample_kb(ctx, echo)
    try:
        ctx.kb.warm_up()          # so the first employee's question does not wait for index loading
    except Exception as exc:      # a broken index must not stop the chat (glossary and facts still work)
        log.warning("warm-up failed", exc_info=True)
        echo(f"Warning: {exc}")
    return ctx, create_app(ctx)


def uvicorn_config(settings: Settings, app, port: int | None = None):
    """How uvicorn runs the app. Forwarding headers (X-Forwarded-For, -Proto) are believed only
    from ``web.trusted_proxies``: from anyone else they would let a client pick the address
    that sign-in throttling counts (dodging a lockout, or locking out someone else)."""
    import uvicorn

    web = settings.web
    trusted = ",".join(web.trusted_proxies)
    return uvicorn.Config(app, host=web.host, port=web.port if port is None else port, log_level="warning",
                          proxy_headers=bool(trusted), forwarded_allow_ips=trusted or "")


def serve(settings: Settings, echo: Callable[[str], None] = print) -> None:
    import uvicorn

    _ctx, app = prepare(settings, echo)
    web = settings.web
    shown = "127.0.0.1" if web.host in ("0.0.0.0", "::") else web.host
    mode = "single-user mode (no sign-in)" if web.single_user else "sign-in required"
    echo(f"kb-agent web: http://{shown}:{web.port}/  ({mode}; LLM: {settings.llm}). Ctrl+C stops it.")
    sys.stdout.flush()
    uvicorn.Server(uvicorn_config(settings, app)).run()

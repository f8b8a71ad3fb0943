"""`kb-agent mcp`: the MCP server over stdio, for an MCP host that starts it (docs/api.md)."""

from __future__ import annotations

import os

import typer

from kb_agent.cli import state

KEY_ENV = "KB_AGENT_API_KEY"


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp)


def mcp(ctx: typer.Context) -> None:
    """Serve glossary_lookup, fact_query and doc_retrieve over MCP on stdin/stdout, for the user
    of the API key in $KB_AGENT_API_KEY (`kb-agent keys create USER`)."""
    import anyio

    from kb_agent.api.mcp_server import serve_stdio
    from kb_agent.auth import AuthService

    settings = state(ctx).settings()
    auth = None if settings.web.single_user else AuthService(settings)
    anyio.run(serve_stdio, state(ctx).kb(), auth, os.environ.get(KEY_ENV))

"""Helpers shared by the admin console tabs."""

from __future__ import annotations

from kb_agent.errors import AccessDenied
from kb_agent.ui.context import WebContext


def require_admin(ctx: WebContext, request) -> None:
    """Every console handler checks again (the mount's auth dependency is the first line)."""
    principal = ctx.principal(getattr(request, "username", None))
    if not principal.is_admin:
        raise AccessDenied("The admin console is for admins only.")


def table_or_empty(rows: list[list], width: int) -> list[list]:
    return rows or [[""] * width]

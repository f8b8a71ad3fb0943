"""``GET /audit/export?format=csv|jsonl&user=&text=&surface=&since=&until=``: the audit log as a
download, for admins only (the console's export links point here).

The file is written into the response from the usage log at request time: nothing lands in
Gradio's file cache or on disk, so there is no URL an employee could fetch later. A request
without an admin's session gets 404, the same as an unknown path.
"""

from __future__ import annotations

import io
import logging
from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from kb_agent import audit
from kb_agent.errors import InputError
from kb_agent.ui.context import WebContext

log = logging.getLogger(__name__)

PATH = "/audit/export"
_MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox", "Referrer-Policy": "same-origin"}
FILTERS = ("user", "text", "surface", "since", "until")


def export_url(fmt: str, **filters: str | None) -> str:
    """The download link for ``fmt`` with the console's current filters (empty ones left out)."""
    query = {"format": fmt, **{k: v.strip() for k, v in filters.items() if k in FILTERS and v and v.strip()}}
    return f"{PATH}?{urlencode(query)}"


def audit_router(ctx: WebContext) -> APIRouter:
    router = APIRouter()

    @router.get(PATH, include_in_schema=False)
    def export(request: Request, format: str = "jsonl", user: str = "", text: str = "", surface: str = "",
               since: str = "", until: str = ""):
        admin = ctx.admin_for_request(request)
        if admin is None:
            log.info("audit export refused (not an admin)")
            return PlainTextResponse("Not Found", status_code=404)
        try:
            if format not in audit.FORMATS:
                raise InputError(f"format: {format!r} is not one of {', '.join(audit.FORMATS)}.")
            records = audit.search(ctx.kb.usage, user=user, text=text, surface=surface,
                                   since=audit.parse_day(since, "since"), until=audit.parse_day(until, "until"),
                                   limit=1_000_000)
        except InputError as exc:
            return PlainTextResponse(exc.user_text(), status_code=400, headers=_HEADERS)
        buffer = io.StringIO(newline="")
        audit.write(records, buffer, format)
        log.info("audit export by %s: %d answer(s), %s", admin, len(records), format)
        name = f"kb-agent-audit-{date.today().isoformat()}.{format}"
        return Response(buffer.getvalue().encode("utf-8"), media_type=_MEDIA[format],
                        headers={**_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})

    return router

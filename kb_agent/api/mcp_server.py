"""The MCP server: kb-agent's tools (glossary_lookup, fact_query, doc_retrieve) for any MCP host.

The tools are the same ``tools/*.py`` classes the assistant calls, built per call for the
caller's :class:`~kb_agent.access.Principal`, so their argument checks, their access filtering
inside the stores and their results (text plus the chat's citations) are exactly the chat's.
A bad argument is a tool error result (``isError``), never a crash of the server.

Two transports, one server (the official ``mcp`` SDK's low-level ``Server``):

- stdio (``kb-agent mcp``): the caller is fixed by the key given to the process;
- streamable HTTP at ``/mcp`` on the web server (:func:`mount_mcp`): each request brings
  ``Authorization: Bearer <key>``; stateless, JSON responses.

Every call resolves the key again, so a revoked key or a disabled owner stops at once. Every
tool call goes into the audit log (kb_agent/audit.py) with surface ``mcp``: the caller, the
tool, its query and the evidence it returned.
"""

from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager
from typing import Any, Callable

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from kb_agent.api.bearer import ApiCaller, bearer_token, caller_for_key, note_use
from kb_agent.api.openai_compat import api_error  # one error shape for every API client
from kb_agent.auth import AuthService
from kb_agent.errors import KBError
from kb_agent.kb import KnowledgeBase
from kb_agent.results import TurnRecorder
from kb_agent.tooling import KBTool, load_tool_class

log = logging.getLogger(__name__)

SERVER_NAME = "kb-agent"
_CALLER = "kb_api_caller"  # where the HTTP adapter leaves the caller in the request's state

CallerOf = Callable[[ServerRequestContext], ApiCaller]


def kb_tool_classes(kb: KnowledgeBase) -> dict[str, type[KBTool]]:
    """The configured tools that work through the KnowledgeBase for a principal (a plain
    Qwen-Agent tool knows nothing of permissions, so it is not offered to MCP hosts)."""
    agent = kb.settings.agent
    classes = {name: load_tool_class(name, agent.tools_dir) for name in agent.tools}
    return {name: cls for name, cls in classes.items() if issubclass(cls, KBTool)}


def tool_result(text: str, recorder: TurnRecorder) -> types.CallToolResult:
    """The tool's text for the host's model, its citations (the chat's) as structured content."""
    event = recorder.events[-1] if recorder.events else None
    if event is None or event.error is not None:
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content={"found": event.output.found, "citations": [c.to_dict() for c in event.output.citations]})


#: The argument that holds what was asked, by tool (the first one a call has is recorded).
_QUERY_ARGUMENTS = ("query", "question", "term")


def tool_question(arguments: dict[str, Any]) -> str:
    """What an MCP call asked, for the audit log: its query argument, else all its arguments."""
    for name in _QUERY_ARGUMENTS:
        if isinstance(arguments.get(name), str) and arguments[name].strip():
            return arguments[name].strip()
    return json.dumps(arguments, ensure_ascii=False, default=str)


def audit_tool_call(kb: KnowledgeBase, caller: ApiCaller, name: str, arguments: dict[str, Any],
                    recorder: TurnRecorder) -> None:
    event = recorder.events[-1] if recorder.events else None
    try:
        kb.usage.record_question(caller.name, tool_question(arguments), "tool", [name],
                                 bool(event and event.error is None and event.output.found), surface="mcp",
                                 evidence=[{"source": c.source, "locator": c.locator}
                                           for c in (event.output.citations if event else [])])
    except Exception:  # the usage log must never break a tool call
        log.warning("could not write the usage log", exc_info=True)


def build_mcp_server(kb: KnowledgeBase, caller_of: CallerOf) -> Server:
    classes = kb_tool_classes(kb)

    def tool(name: str, caller: ApiCaller, recorder: TurnRecorder | None = None) -> KBTool:
        return classes[name]({"kb": kb, "principal": caller.principal, "recorder": recorder})

    async def on_list_tools(ctx: ServerRequestContext, params: Any) -> types.ListToolsResult:
        caller = caller_of(ctx)

        def describe() -> list[types.Tool]:  # fact_query lists the tables this caller may query
            return [types.Tool(name=name, description=tool(name, caller).description,
                               input_schema=cls.parameters) for name, cls in classes.items()]

        return types.ListToolsResult(tools=await anyio.to_thread.run_sync(describe))

    async def on_call_tool(ctx: ServerRequestContext, params: types.CallToolRequestParams) -> types.CallToolResult:
        caller = caller_of(ctx)
        note_use(kb.usage, caller, f"mcp:{params.name}")
        if params.name not in classes:
            return types.CallToolResult(content=[types.TextContent(
                type="text", text=f"Error: unknown tool {params.name!r}; tools: {', '.join(classes)}")], is_error=True)
        recorder = TurnRecorder()
        instance = tool(params.name, caller, recorder)
        arguments = dict(params.arguments or {})
        text = await anyio.to_thread.run_sync(instance.call, arguments)
        await anyio.to_thread.run_sync(audit_tool_call, kb, caller, params.name, arguments, recorder)
        return tool_result(text, recorder)

    return Server(SERVER_NAME, instructions="Company knowledge base: glossary terms, curated facts and "
                  "cited document passages, filtered by the caller's access groups.",
                  on_list_tools=on_list_tools, on_call_tool=on_call_tool)


# -- stdio ----------------------------------------------------------------------------------

async def serve_stdio(kb: KnowledgeBase, auth: AuthService | None, token: str | None) -> None:
    """Serve MCP on stdin/stdout for the caller of ``token``; a bad key fails before serving."""
    from mcp.server.stdio import stdio_server

    caller_for_key(auth, token, None)  # AuthError now, not on the host's first call

    def caller_of(ctx: ServerRequestContext) -> ApiCaller:
        return caller_for_key(auth, token, None)

    server = build_mcp_server(kb, caller_of)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


# -- streamable HTTP on the web app ----------------------------------------------------------

class BearerGate:
    """ASGI: an MCP request needs an API key; the caller goes into the request's state."""

    def __init__(self, app: ASGIApp, auth: AuthService | None) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        address = scope["client"][0] if scope.get("client") else None
        try:
            caller = await anyio.to_thread.run_sync(caller_for_key, self.auth, bearer_token(headers), address)
        except KBError as exc:
            await api_error(exc).response()(scope, receive, send)
            return
        scope.setdefault("state", {})[_CALLER] = caller
        await self.app(scope, receive, send)


def _http_caller(ctx: ServerRequestContext) -> ApiCaller:
    request = ctx.request
    caller = getattr(getattr(request, "state", None), _CALLER, None)
    if caller is None:  # pragma: no cover - BearerGate runs before every MCP request
        raise KBError("MCP request without a caller")
    return caller


def mount_mcp(app, kb: KnowledgeBase, auth: AuthService | None, path: str = "/mcp") -> None:
    """Serve MCP at ``path`` of a FastAPI/Starlette app; its session manager runs in the app's
    lifespan (wrapped around whatever lifespan the app already has, e.g. Gradio's)."""
    from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager

    manager = StreamableHTTPSessionManager(app=build_mcp_server(kb, _http_caller), stateless=True,
                                           json_response=True)
    app.router.routes.append(Route(path, endpoint=BearerGate(StreamableHTTPASGIApp(manager), auth)))
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a):
        async with manager.run():
            async with inner(a) as state:
                yield state

    app.router.lifespan_context = lifespan

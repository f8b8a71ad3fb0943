"""The MCP server through the official `mcp` SDK client: over streamable HTTP at /mcp on the
running app, and over stdio by spawning `.venv/bin/kb-agent mcp`. Tools listed with their JSON
schemas, each tool called, the caller's groups enforced, a bad argument is a tool error."""

from __future__ import annotations

import os
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

TOOLS = {"glossary_lookup", "fact_query", "doc_retrieve"}
PRICE = "floor price of the SL-500 printer"


@asynccontextmanager
async def http_session(app, key: str):
    client = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
    async with client, streamable_http_client(app.url + "/mcp", http_client=client) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            yield session


def text(result) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


async def check_tools(session, *, finance: bool) -> None:
    listed = {t.name: t for t in (await session.list_tools()).tools}
    assert set(listed) == TOOLS
    assert listed["doc_retrieve"].input_schema["required"] == ["query"]
    assert listed["glossary_lookup"].input_schema["properties"]["term"]["type"] == "string"

    term = await session.call_tool("glossary_lookup", {"term": "AM"})
    assert not term.is_error and "Account Manager" in text(term)
    assert term.structured_content["citations"][0]["kind"] == "glossary"

    fact = await session.call_tool("fact_query", {"question": "How many days is the printer return window?"})
    assert not fact.is_error and "found" in fact.structured_content

    docs = await session.call_tool("doc_retrieve", {"query": PRICE, "top_k": 5})
    assert not docs.is_error
    sources = {c["source"] for c in docs.structured_content["citations"]}
    if finance:
        assert "finance/floor_prices.md" in sources and "41,800" in text(docs)
    else:
        assert not any(s.startswith("finance/") for s in sources) and "41,800" not in text(docs)

    bad = await session.call_tool("doc_retrieve", {"query": PRICE, "top_k": "many"})
    assert bad.is_error and "top_k must be an integer" in text(bad)
    missing = await session.call_tool("glossary_lookup", {})
    assert missing.is_error and "missing required argument 'term'" in text(missing)
    unknown = await session.call_tool("no_such_tool", {})
    assert unknown.is_error
    again = await session.call_tool("glossary_lookup", {"term": "AM"})  # the server still serves
    assert not again.is_error


def test_mcp_over_http(start_app, key_for):
    import httpx

    app = start_app(docs=True)
    alice, fiona = key_for(app, "alice"), key_for(app, "fiona")

    async def main():
        async with http_session(app, alice) as s:
            await check_tools(s, finance=False)
        async with http_session(app, fiona) as s:
            await check_tools(s, finance=True)

    anyio.run(main)
    assert {u[3] for u in app.ctx.kb.usage.key_uses()} >= {f"mcp:{t}" for t in TOOLS}
    from kb_agent import audit

    calls = audit.search(app.ctx.kb.usage, surface="mcp", user="fiona")
    assert {(r.question, r.tool_names[0]) for r in calls} >= {("AM", "glossary_lookup"), (PRICE, "doc_retrieve")}
    assert any(e["source"] == "finance/floor_prices.md" for r in calls for e in r.evidence)

    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    assert httpx.post(app.url + "/mcp", json=body, headers=headers).status_code == 401
    assert httpx.post(app.url + "/mcp", json=body, headers={**headers, "Authorization": "Bearer kbk_nope"}) \
        .status_code == 401
    session = app.ctx.auth.sessions.create("admin")  # the session cookie is not a credential here
    assert httpx.post(app.url + "/mcp", json=body, headers=headers, cookies={"kb_session": session}).status_code == 401
    app.ctx.auth.keys.revoke(app.ctx.auth.keys.list("fiona")[0].id)
    assert httpx.post(app.url + "/mcp", json=body, headers={**headers, "Authorization": f"Bearer {fiona}"}) \
        .status_code == 401


def test_mcp_over_stdio(start_app, key_for, data_dir, glossary_dir, tmp_path):
    app = start_app(docs=True)  # ingests the documents and creates the users in data_dir
    fiona, alice = key_for(app, "fiona"), key_for(app, "alice")
    app.stop()
    exe = str(Path(sys.prefix) / "bin" / "kb-agent")
    env = {"KB_AGENT_DATA_DIR": str(data_dir), "KB_AGENT_GLOSSARY__DIR": str(glossary_dir),
           "KB_AGENT_GLOSSARY__RELOAD_CHECK_S": "0", "KB_AGENT_EMBEDDER__BACKEND": "sentence-transformers",
           "KB_AGENT_FACTS__DIR": str(tmp_path / "facts"), "HOME": os.environ.get("HOME", str(tmp_path))}

    async def main():
        for key, finance in ((fiona, True), (alice, False)):
            params = StdioServerParameters(command=exe, args=["mcp"], env={**env, "KB_AGENT_API_KEY": key},
                                           cwd=str(tmp_path))
            async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
                await s.initialize()
                await check_tools(s, finance=finance)

    anyio.run(main)


def test_mcp_stdio_refuses_a_bad_key(cli):
    result = cli("mcp", env={"KB_AGENT_API_KEY": "kbk_nope"})
    assert result.exit_code == 2 and "Invalid API key" in result.output

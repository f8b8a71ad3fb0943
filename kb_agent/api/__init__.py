"""Programmatic access on the web server, for clients that bring an API key
(``Authorization: Bearer <key>``, never the session cookie): the OpenAI-compatible chat API
(:mod:`kb_agent.api.openai_compat`, /v1) and the MCP server (:mod:`kb_agent.api.mcp_server`,
/mcp over HTTP, ``kb-agent mcp`` over stdio). Both are thin adapters over the same
Answerer / tool functions the chat and the CLI use. docs/api.md describes them."""

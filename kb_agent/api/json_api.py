"""The JSON API for scripts at /api: ask, search, glossary lookup, fact query and ingestion
status, in the shapes of the CLI's ``--json`` (docs/cli-json.md), and its OpenAPI description
at ``GET /api/openapi.json`` (signed-in callers only). docs/api.md has examples.

Who calls: ``Authorization: Bearer <key>`` (the key's owner; the use goes into the usage log,
bad keys are throttled as in kb_agent/api/bearer.py) or, without that header, the browser's
session cookie (the cross-site guard of the app applies to every POST, and a POST must be
``application/json``, which a form on another site cannot send). Every call runs for the
caller's principal, so search and facts see only what the caller may see.

Thin adapters: each route validates its JSON body and calls the KnowledgeBase / Answerer
method the CLI command calls, and returns the dict the CLI prints. Errors are
``{"error": message, "code": ...}`` with 400 / 401 / 403 / 415 / 429 / 503.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from kb_agent.answering import check_question
from kb_agent.api.bearer import ApiCaller, bearer_token, caller_for_key, note_use
from kb_agent.errors import (AccessDenied, AuthError, FactError, InputError, KBError, LLMError, StoreError,
                             ThrottledError, ToolArgumentError)
from kb_agent.facts.answer import fact_json
from kb_agent.index.result import search_json
from kb_agent.ui.context import WebContext

log = logging.getLogger(__name__)

PREFIX = "/api"
OPENAPI_PATH = PREFIX + "/openapi.json"


# -- request bodies (validated here, and described in the OpenAPI document) ----------------

class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HistoryMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str = Field(description="'user' or 'assistant'; other roles are ignored.")
    content: Any = Field(description="Plain text; anything else is ignored.")


class AskRequest(_Body):
    question: str = Field(description="The question (at most agent.max_question_chars characters).")
    history: list[HistoryMessage] = Field(default_factory=list, max_length=200,
                                          description="Earlier turns, oldest first (the last 12 are used).")


class SearchFilter(_Body):
    folders: list[str] = Field(default_factory=list, description="Only sources under these folders.")
    file_types: list[str] = Field(default_factory=list, description="Only these file types, e.g. pdf.")


class SearchRequest(_Body):
    query: str = Field(description="The question or keywords.")
    top_k: int | None = Field(default=None, ge=1, le=100, description="Passages to return.")
    filters: SearchFilter | None = None


class GlossaryRequest(_Body):
    term: str = Field(description="A term, its English or Chinese name, or a question.")


class FactFilter(_Body):
    column: str
    op: Literal["=", "!=", "<", "<=", ">", ">=", "contains", "between"] = "="
    value: Any = Field(description="A string or number; for 'between' a [low, high] list.")


class FactAggregate(_Body):
    function: Literal["count", "count_distinct", "sum", "avg", "min", "max"]
    column: str | None = Field(default=None, description="The column to aggregate (count: optional, counts rows).")
    group_by: list[str] | None = Field(default=None, max_length=2, description="One or two columns.")
    order_by: str | None = Field(default=None, description="'value', 'rows' or a group_by column.")
    order: Literal["asc", "desc"] | None = None
    limit: int | None = Field(default=None, ge=1, description="Groups to return.")


class FactsRequest(_Body):
    question: str
    table: str | None = Field(default=None, description="Query this table (see `kb-agent facts tables`).")
    filters: list[FactFilter] | None = None
    columns: list[str] | None = Field(default=None, description="Only these columns.")
    aggregate: FactAggregate | None = Field(default=None, description="Compute over the filtered rows "
                                            "instead of listing them (docs/facts.md, Aggregates).")


# -- response shapes (documentation only: the routes return the CLI's dicts) ----------------

class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow")  # keys may be added (docs/cli-json.md)


class Citation(_Shape):
    source: str
    kind: Literal["document", "glossary", "fact", "table"]
    locator: dict[str, Any] = Field(description="Always 'kind' and 'label', plus the fields of its kind.")
    text: str
    score: float | None = None
    number: int | None = Field(None, description="LLM mode: the evidence number the answer cites it by, [n].")


class AskResponse(_Shape):
    question: str
    answer: str
    mode: Literal["offline", "llm"]
    language: str
    found: bool
    route: str | None
    tool_calls: list[dict[str, Any]]
    citations: list[Citation]
    terms: dict[str, Any]
    hit_call_cap: bool
    grounding: dict[str, Any] | None = Field(
        None, description="LLM mode: the check of the model's text against its sources: ok, checked, failures "
                          "(kind, text, sentence, span, detail). See docs/cli-json.md.")


class SearchHit(_Shape):
    source: str
    locator: dict[str, Any]
    score: float
    text: str
    fused: float | None = None
    dense_rank: int | None = None
    keyword_rank: int | None = None
    bridged_rank: int | None = None


class SearchResponse(_Shape):
    query: str
    expanded_query: str
    expansion: str | None
    found: bool
    reason: str = ""            # why found or not, in the question's language (docs/retrieval.md)
    hits: list[SearchHit]
    latency_ms: float
    filters: dict[str, Any] | None
    notes: list[str]


class GlossaryEntry(_Shape):
    term: str
    english: str
    chinese: str
    aliases: list[str]
    description: str
    scope: str
    owner: str
    updated: str | None
    source: str


class GlossaryResponse(_Shape):
    query: str
    how: Literal["exact", "reverse", "in_question", "none"]
    matches: list[GlossaryEntry]
    suggestions: list[str]


class FactsResponse(_Shape):
    question: str
    status: str = Field(description="fact, conflict, ambiguous, expired, future, rows, table, no_match, …")
    found: bool
    confidence: float
    threshold: float
    facts: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    candidates: list[dict[str, Any]]
    table: dict[str, Any] | None = None
    text: str = Field(description="The fact_query tool's text.")
    citations: list[Citation]


class DocumentRecord(_Shape):
    path: str
    root: str
    status: Literal["ok", "failed"]
    chunks: int
    reason: str | None
    access_groups: list[str]
    doc_title: str
    file_type: str
    size: int
    mtime: float
    content_hash: str
    ingested_at: float


class IngestStatus(_Shape):
    documents: list[DocumentRecord]
    totals: dict[str, int] = Field(description="files, ok, failed, chunks")


class ErrorBody(BaseModel):
    error: str
    code: str


# -- pure shapes ------------------------------------------------------------------------

def ingest_status_json(records) -> dict[str, Any]:
    """The documents the chunk store knows (the console's document list) and their totals."""
    docs = [r.to_dict() for r in records]
    return {"documents": docs,
            "totals": {"files": len(docs), "ok": sum(d["status"] == "ok" for d in docs),
                       "failed": sum(d["status"] != "ok" for d in docs),
                       "chunks": sum(d["chunks"] for d in docs if d["status"] == "ok")}}


# -- errors -----------------------------------------------------------------------------

class _Refusal(Exception):
    def __init__(self, status: int, message: str, code: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.message, "code": self.code}, status_code=self.status, headers=self.headers)


def refusal(exc: KBError) -> _Refusal:
    """How each kb-agent error reads to a script."""
    text = exc.user_text()
    if isinstance(exc, ThrottledError):
        return _Refusal(429, text, "rate_limited", {"Retry-After": str(max(1, int(exc.retry_after_s + 0.999)))})
    if isinstance(exc, AuthError):
        return _Refusal(401, text, "unauthorized", {"WWW-Authenticate": "Bearer"})
    if isinstance(exc, AccessDenied):
        return _Refusal(403, text, "forbidden")
    if isinstance(exc, (InputError, FactError, ToolArgumentError)):
        return _Refusal(400, text, "bad_request")
    if isinstance(exc, (LLMError, StoreError)):
        return _Refusal(503, text, "unavailable")
    return _Refusal(500, text, "internal_error")


_DOC_ERRORS = {400: "Bad request (the message says what)", 401: "No valid session cookie or API key",
               415: "Not application/json", 429: "Too many bad keys or sign-ins from this address",
               503: "The LLM or a store is unavailable"}


def _responses(shape: type[BaseModel], post: bool, *extra: int) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {200: {"model": shape}}
    for status in ((400, 401, 415, 429) if post else (401, 429)) + extra:
        out[status] = {"model": ErrorBody, "description": _DOC_ERRORS.get(status, "Admins only")}
    return out


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


# -- the router -------------------------------------------------------------------------

def json_api_router(ctx: WebContext) -> APIRouter:
    router = APIRouter(prefix=PREFIX)
    kb, answerer = ctx.kb, ctx.answerer
    max_chars = ctx.settings.agent.max_question_chars

    def caller(request: Request) -> ApiCaller:
        """The key's owner with an Authorization header, else the session cookie's user."""
        if "authorization" in request.headers:
            address = request.client.host if request.client else None
            return caller_for_key(ctx.auth, bearer_token(request.headers), address)
        username = ctx.username_for_request(request)
        if username is None:
            raise AuthError("Sign in first, or send an API key.",
                            hint="Authorization: Bearer <key> (the 'My keys' page or `kb-agent keys create`).")
        return ApiCaller(ctx.principal(username), None)

    def noted_caller(request: Request, endpoint: str) -> ApiCaller:
        who = caller(request)
        note_use(kb.usage, who, endpoint)  # every key use is in the usage log
        return who

    async def body_of(request: Request, model: type[BaseModel]) -> Any:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            raise _Refusal(415, "Send JSON (Content-Type: application/json).", "unsupported_media_type")
        try:
            return model.model_validate(await request.json())
        except ValueError as exc:  # json.JSONDecodeError and pydantic's ValidationError
            if isinstance(exc, ValidationError):
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ())) or "body"
                raise _Refusal(400, f"{where}: {first.get('msg')}", "bad_request") from None
            raise _Refusal(400, "The request body is not valid JSON.", "bad_request") from None

    def route(path: str, shape: type[BaseModel], request_model: type[BaseModel] | None, summary: str,
              *extra: int):
        """A POST route (with a JSON body) or a GET route; the handler gets (caller, body)."""

        def wrap(handler):
            endpoint_name = path.strip("/").replace("/", ".")

            async def endpoint(request: Request):
                try:
                    who = await run_in_threadpool(noted_caller, request, f"api:{endpoint_name}")
                    body = await body_of(request, request_model) if request_model is not None else None
                    return JSONResponse(await run_in_threadpool(handler, who, body))
                except KBError as exc:
                    return refusal(exc).response()
                except _Refusal as refused:
                    return refused.response()

            endpoint.__name__ = handler.__name__
            endpoint.__doc__ = handler.__doc__
            add = router.post if request_model is not None else router.get
            add(path, summary=summary, responses=_responses(shape, request_model is not None, *extra),
                openapi_extra=_body_doc(request_model) if request_model is not None else None)(endpoint)
            return handler

        return wrap

    @route("/ask", AskResponse, AskRequest, "Ask a question (as `kb-agent ask --json`)", 503)
    def ask(who: ApiCaller, body: AskRequest) -> dict:
        """The answer with its citations, for the caller's groups; a refusal is `found: false`."""
        history = [m.model_dump() for m in body.history]
        return answerer.ask(body.question, who.principal, history, surface="api").to_dict()

    @route("/search", SearchResponse, SearchRequest, "Search the documents (as `kb-agent search --json`)")
    def search(who: ApiCaller, body: SearchRequest) -> dict:
        """Glossary-expanded hybrid search over the passages the caller may see."""
        from kb_agent.index.filters import SearchFilters

        query = check_question(body.query, max_chars)
        try:
            filters = SearchFilters.from_dict(body.filters.model_dump() if body.filters else None)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        return search_json(kb.retrieve(query, who.principal, top_k=body.top_k, filters=filters))

    @route("/glossary/lookup", GlossaryResponse, GlossaryRequest,
           "Look a term up (as `kb-agent glossary lookup --json`)")
    def glossary_lookup(who: ApiCaller, body: GlossaryRequest) -> dict:
        """Exact, reverse (English or Chinese name), in a question, fuzzy; no match: empty `matches`."""
        return kb.lookup_term(check_question(body.term, max_chars), who.principal).to_dict()

    @route("/facts/query", FactsResponse, FactsRequest, "Query curated facts or a table "
           "(as `kb-agent facts query --json`)")
    def facts_query(who: ApiCaller, body: FactsRequest) -> dict:
        """A curated fact, or table rows with cell citations, that the caller may see."""
        filters = [f.model_dump() for f in body.filters] if body.filters else None
        aggregate = body.aggregate.model_dump(exclude_none=True) if body.aggregate else None
        result = kb.query_facts(check_question(body.question, max_chars), who.principal, table=body.table or None,
                                filters=filters, columns=body.columns or None, aggregate=aggregate)
        return fact_json(result)

    @route("/ingest/status", IngestStatus, None, "The ingested documents and their status (admins)", 403)
    def ingest_status(who: ApiCaller, _body: None) -> dict:
        """Every file the chunk store knows (the console's document list): admins only, as the
        console (it names folders and groups of documents the caller may not see)."""
        if not who.principal.is_admin:
            raise AccessDenied("Ingestion status is for admins only.")
        return ingest_status_json(kb.chunk_store.sources())

    schema: dict[str, Any] = {}

    @router.get("/openapi.json", include_in_schema=False)
    def openapi(request: Request):
        try:
            caller(request)
        except KBError as exc:
            return refusal(exc).response()
        if not schema:
            schema.update(openapi_document(router, ctx.settings.web.title))
        return JSONResponse(schema)

    return router


def openapi_document(router: APIRouter, title: str) -> dict[str, Any]:
    """OpenAPI 3.1 of the routes, with the request bodies' schemas as components."""
    from fastapi.openapi.utils import get_openapi
    from pydantic.json_schema import models_json_schema

    from kb_agent import __version__

    doc = get_openapi(title=f"{title} JSON API", version=__version__, routes=router.routes,
                      description="Ask, search, glossary and facts for scripts, in the shapes of the CLI's "
                                  "--json (docs/cli-json.md). Authorization: Bearer <API key>, or the "
                                  "session cookie of a signed-in browser. See docs/api.md.")
    requests = [(m, "validation") for m in (AskRequest, SearchRequest, GlossaryRequest, FactsRequest)]
    _, defs = models_json_schema(requests, ref_template="#/components/schemas/{model}")
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {}).update(defs.get("$defs", {}))
    components["securitySchemes"] = {"apiKey": {"type": "http", "scheme": "bearer"},
                                     "session": {"type": "apiKey", "in": "cookie", "name": "kb_session"}}
    doc["security"] = [{"apiKey": []}, {"session": []}]
    return doc

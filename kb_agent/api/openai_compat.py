"""The OpenAI-compatible chat API at /v1: ``GET /v1/models`` and ``POST /v1/chat/completions``
(streamed as OpenAI's SSE chunks, or not), for any OpenAI client with a kb-agent API key.

A thin adapter over :class:`~kb_agent.answering.Answerer`, as the chat and ``kb-agent ask``:
the last user message is the question, earlier user/assistant messages the history (plain
text only). Citations come twice: as numbered footnotes at the end of the content, and as
``citations`` (the ``ask --json`` citation objects) on the message — on the last chunk's
``delta`` when streamed. Errors are OpenAI's ``{"error": {"message", "type", "code"}}``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any, Iterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from kb_agent.answering import Answer, Answerer, check_question, plain_history
from kb_agent.api.bearer import ApiCaller, bearer_token, caller_for_key, note_use
from kb_agent.auth import AuthService
from kb_agent.errors import AuthError, InputError, KBError, LLMError, ThrottledError
from kb_agent.results import Citation, numbered

log = logging.getLogger(__name__)

MODEL_ID = "kb-agent"
MAX_MESSAGES = 200


class ApiError(Exception):
    """An error in OpenAI's shape: HTTP status, ``type`` and ``code``."""

    def __init__(self, status: int, message: str, type_: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.code = status, message, type_, code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "code": self.code, "param": None}}

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def api_error(exc: KBError) -> ApiError:
    """How each kb-agent error reads to an OpenAI client."""
    if isinstance(exc, ThrottledError):
        return ApiError(429, exc.user_text(), "rate_limit_error", "rate_limit_exceeded")
    if isinstance(exc, AuthError):
        return ApiError(401, exc.user_text(), "invalid_request_error", "invalid_api_key")
    if isinstance(exc, InputError):
        return ApiError(400, exc.user_text(), "invalid_request_error", "invalid_request")
    if isinstance(exc, LLMError):
        return ApiError(503, exc.user_text(), "server_error", "llm_unavailable")
    return ApiError(500, exc.user_text(), "server_error", "internal_error")


def footnotes(citations: list[Citation]) -> str:
    """The sources as numbered footnotes, for clients that show only the content."""
    if not citations:
        return ""
    lines = [f"[{n}] {c.source} — {c.locator.get('label', '')}".rstrip(" —") for n, c in numbered(citations)]
    return "\n\nSources:\n" + "\n".join(lines)


def _text_content(content: Any, what: str) -> str:
    """A message's text: a string, or a list of text parts (anything else is refused)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text"
                                         and isinstance(p.get("text"), str) for p in content):
        return "".join(p["text"] for p in content)
    raise InputError(f"{what}: only plain text content is supported")


def parse_messages(body: Any, max_chars: int) -> tuple[str, list[dict[str, str]]]:
    """(question, history) of a chat-completions request body."""
    if not isinstance(body, dict):
        raise InputError("The request body must be a JSON object.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or len(messages) > MAX_MESSAGES:
        raise InputError(f"'messages' must be a list of 1 to {MAX_MESSAGES} messages.")
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user":
        raise InputError("The last message must be the user's question (role 'user').")
    question = check_question(_text_content(last.get("content"), "the last message"), max_chars)
    history = [{"role": m["role"], "content": _text_content(m.get("content"), "a history message")}
               for m in messages[:-1] if isinstance(m, dict) and m.get("role") in ("user", "assistant")
               and isinstance(m.get("content"), (str, list))]
    return question, plain_history(history, max_chars)


def _completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex[:24]


def completion(answer: Answer, completion_id: str, created: int) -> dict[str, Any]:
    message = {"role": "assistant", "content": answer.answer + footnotes(answer.citations),
               "citations": [c.to_dict() for c in answer.citations]}
    return {"id": completion_id, "object": "chat.completion", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "kb_agent": {"found": answer.found, "mode": answer.mode, "route": answer.route,
                         "tool_calls": answer.tool_calls}}


def _chunk(completion_id: str, created: int, delta: dict[str, Any], finish: str | None = None) -> str:
    data = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def sse_chunks(answerer: Answerer, question: str, caller: ApiCaller, history: list[dict[str, str]],
               completion_id: str, created: int) -> Iterator[str]:
    """The answer as OpenAI stream chunks. The text is sent as the answerer releases it (in LLM
    mode all at once, when it has been checked against its sources); text that does not continue
    what was sent follows on a new paragraph (sent text is never taken back). The last chunk
    carries the footnotes, ``citations`` and ``finish_reason``."""
    yield _chunk(completion_id, created, {"role": "assistant", "content": ""})
    segment = ""
    try:
        for update in answerer.stream(question, caller.principal, history, surface="api"):
            text = update.text
            if text.startswith(segment):
                delta = text[len(segment):]
            else:
                delta = "\n\n" + text
            segment = text
            if delta:
                yield _chunk(completion_id, created, {"content": delta})
            if update.done and update.answer is not None:
                answer = update.answer
                yield _chunk(completion_id, created, {"content": footnotes(answer.citations),
                                                      "citations": [c.to_dict() for c in answer.citations]},
                             finish="stop")
    except KBError as exc:  # headers are sent: the error goes in the stream, as OpenAI does
        log.warning("streamed answer failed: %s", exc)
        yield f"data: {json.dumps(api_error(exc).body(), ensure_ascii=False)}\n\n"
    except Exception:
        log.exception("streamed answer crashed")
        yield f"data: {json.dumps(ApiError(500, 'Internal error.', 'server_error').body())}\n\n"
    yield "data: [DONE]\n\n"


def openai_router(answerer: Answerer, auth: AuthService | None) -> APIRouter:
    router = APIRouter(prefix="/v1")
    settings = answerer.settings

    def caller(request: Request) -> ApiCaller:
        address = request.client.host if request.client else None
        return caller_for_key(auth, bearer_token(request.headers), address)

    @router.get("/models")
    def models(request: Request):
        try:
            who = caller(request)
        except KBError as exc:
            return api_error(exc).response()
        note_use(answerer.kb.usage, who, "models")
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "kb-agent"}]}

    @router.post("/chat/completions")
    async def chat_completions(request: Request):
        try:
            who = await run_in_threadpool(caller, request)
            try:
                body = await request.json()
            except ValueError:
                raise InputError("The request body is not valid JSON.") from None
            question, history = parse_messages(body, settings.agent.max_question_chars)
            stream = body.get("stream") is True
        except KBError as exc:
            return api_error(exc).response()
        note_use(answerer.kb.usage, who, "chat.completions")
        completion_id, created = _completion_id(), int(time.time())
        if stream:
            return StreamingResponse(sse_chunks(answerer, question, who, history, completion_id, created),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        try:
            answer = await run_in_threadpool(answerer.ask, question, who.principal, history, surface="api")
        except KBError as exc:
            return api_error(exc).response()
        return JSONResponse(completion(answer, completion_id, created))

    return router

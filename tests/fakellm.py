"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1 for agent tests.

The LLM is the one process boundary tests cannot cross, so this fake stands in for vLLM,
Ollama or DashScope's compatible mode. It speaks the wire formats Qwen-Agent 0.0.34 uses:
``POST /v1/chat/completions`` with ``"stream": true`` answered as Server-Sent Events.

- Requests without ``tools`` (Qwen-Agent's default): a tool call is written into the text as
  ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``.
- Requests with ``tools`` (``use_raw_api``): a tool call is streamed as ``delta.tool_calls``.

Replies are scripted with :meth:`FakeLLM.enqueue`: :class:`Say` (text), :class:`Call` (a tool
call) or a function of the request returning one of them (to answer from tool results).
Every request is kept in ``requests`` so tests can assert what the model was shown.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Union


@dataclass
class Say:
    text: str


@dataclass
class Call:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


Reply = Union[Say, Call, Callable[[dict], Union[Say, Call]]]


def last_tool_result(request: dict) -> str:
    """The most recent tool result in a request, in either wire format."""
    for msg in reversed(request["messages"]):
        content = msg.get("content")
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        if msg.get("role") == "tool":
            return content or ""
        if msg.get("role") == "user" and content and "<tool_response>" in content:
            return content.split("<tool_response>")[-1].split("</tool_response>")[0].strip()
    return ""


class FakeLLM:
    def __init__(self, chunk_chars: int = 8, delay_s: float = 0.0):
        self.script: deque[Reply] = deque()
        self.requests: list[dict] = []
        self.default: Reply = Say("(the fake model has no scripted reply)")
        self.chunk_chars = chunk_chars
        self.delay_s = delay_s
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> "FakeLLM":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    def _next(self, request: dict) -> Say | Call:
        with self._lock:
            reply = self.script.popleft() if self.script else self.default
        return reply(request) if callable(reply) else reply

    # -- HTTP ------------------------------------------------------------------------------
    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self.send_error(404)
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with fake._lock:
                    fake.requests.append(body)
                reply = fake._next(body)
                native = bool(body.get("tools"))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk in fake._chunks(reply, native, body.get("model", "fake")):
                    self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                    self.wfile.flush()
                    if fake.delay_s:
                        time.sleep(fake.delay_s)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler

    def _chunks(self, reply: Say | Call, native: bool, model: str):
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

        def chunk(delta: dict, finish: str | None = None) -> dict:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        yield chunk({"role": "assistant", "content": ""})
        if isinstance(reply, Call) and native:
            args = json.dumps(reply.arguments, ensure_ascii=False)
            yield chunk({"tool_calls": [{"index": 0, "id": f"call_{len(self.requests)}", "type": "function",
                                         "function": {"name": reply.name, "arguments": ""}}]})
            for i in range(0, len(args), self.chunk_chars):
                yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[i:i + self.chunk_chars]}}]})
            yield chunk({}, "tool_calls")
            return
        if isinstance(reply, Call):
            text = "<tool_call>\n" + json.dumps({"name": reply.name, "arguments": reply.arguments},
                                                ensure_ascii=False) + "\n</tool_call>"
        else:
            text = reply.text
        for i in range(0, len(text), self.chunk_chars):
            yield chunk({"content": text[i:i + self.chunk_chars]})
        yield chunk({}, "stop")
